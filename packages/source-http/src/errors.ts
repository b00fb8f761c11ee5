import { inspect } from 'node:util';
import {
  AuthenticationError,
  CheckpointError,
  errorMessage,
  isRetryable,
  UnitError,
} from '@checkpointkit/core';

/** An option of `httpSource` that cannot work. Names the option and the cause. */
export class HttpSourceConfigError extends CheckpointError {
  override name = 'HttpSourceConfigError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`httpSource: option "${field}" ${reason}`);
  }
}

/** Where a failure happened: the resource (config name), its unit and the page URL (secrets removed). */
export interface PageLocation {
  resource: string;
  unit: string;
  url: string;
}

const where = (at: PageLocation) => `resource "${at.resource}" (unit "${at.unit}"), page ${at.url}`;

/** The API answered with an error status, or not at all. `retryable` says whether a later run may succeed. */
export class HttpRequestError extends UnitError {
  override name = 'HttpRequestError';
  readonly resource: string;
  readonly url: string;
  constructor(
    at: PageLocation,
    readonly status: number | undefined,
    reason: string,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(
      `${where(at)}: ${status === undefined ? 'network error' : status} ${reason}${options.retryable ? '' : ' (not retryable)'}`,
      options,
    );
    this.resource = at.resource;
    this.url = at.url;
  }
}

/**
 * A 2xx answer with an empty body where a page of JSON was expected: a worker that died after
 * its headers, a proxy's or a gateway's fault, not the end of the list (an API says that with
 * a `204` or an empty page, which end it). Tried again within `retries`, then retryable by the
 * next run. An {@link HttpRequestError}, naming the page URL without credentials.
 */
export class HttpEmptyBodyError extends HttpRequestError {
  override name = 'HttpEmptyBodyError';
  constructor(at: PageLocation, status: number) {
    super(at, status, 'with an empty body where a page of JSON was expected', {
      retryable: true,
    });
  }
}

/**
 * The API refused the credentials (401, or 403 without a rate limit). Retrying will not help: it
 * is core's {@link AuthenticationError}, so `pipeline()` stops the run at once and rejects with
 * it, marks no unit failed, and the next run with good credentials continues where it stopped.
 * The source also aborts its `signal` with it. Names the resource, the unit and the page URL
 * (credentials taken out), never a secret.
 */
export class HttpAuthError extends AuthenticationError {
  override name = 'HttpAuthError';
  readonly resource: string;
  readonly unit: string;
  readonly url: string;
  constructor(
    at: PageLocation,
    readonly status: number,
  ) {
    super('the API', `${status} for ${where(at)}`, 'fix the auth option and run again', {
      failureCause: { status, url: at.url },
    });
    this.resource = at.resource;
    this.unit = at.unit;
    this.url = at.url;
  }
}

/**
 * A custom `auth.apply` threw. Its message is kept with the auth's `secrets` replaced by `***`,
 * in any encoding; the error itself is not kept (as `cause` or its `failureCause`), since
 * whatever it holds would reach the checkpoint and every log line that prints the unit's error.
 * Retryable unless the thrown error says `retryable: false` (a `UnitError`).
 */
export class HttpAuthApplyError extends UnitError {
  override name = 'HttpAuthApplyError';
  readonly resource: string;
  readonly url: string;
  constructor(at: PageLocation, thrown: unknown, redact: (text: string) => string) {
    const said = (thrown as { retryable?: unknown } | null)?.retryable;
    super(`${where(at)}: auth.apply threw: ${redact(thrownText(thrown))}`, {
      retryable: said !== false,
    });
    this.resource = at.resource;
    this.url = at.url;
  }
}

/**
 * What a throwing `auth.apply` fails with: an {@link HttpAuthApplyError}, or, when it threw
 * core's {@link AuthenticationError} (credentials refused: no unit can succeed), another one
 * with the secrets taken out, so that the run still stops at once.
 */
export function authApplyFailure(
  at: PageLocation,
  thrown: unknown,
  redact: (text: string) => string,
): HttpAuthApplyError | AuthenticationError {
  if (!(thrown instanceof AuthenticationError)) return new HttpAuthApplyError(at, thrown, redact);
  return new AuthenticationError(
    redact(thrown.service),
    `auth.apply for ${where(at)}: ${redact(thrown.detail)}`,
    redact(thrown.fix),
  );
}

/**
 * An error leaving the source as core records it and a log prints it. The source's own errors
 * are made without secrets; an error of the user's code (a paginator quoting a Link header the
 * API echoed the key in, a page cache) is not: when anything of it (message, structured cause,
 * the error it wraps) holds a secret, a {@link UnitError} with its message, secrets replaced, and
 * the same retryable, or an {@link AuthenticationError} the same way; else the error itself.
 */
export function scrubbed(error: unknown, redact: (text: string) => string): unknown {
  let shown: string;
  try {
    shown = inspect(error, { depth: 4 });
  } catch {
    shown = errorMessage(error);
  }
  if (redact(shown) === shown) return error;
  if (error instanceof AuthenticationError)
    return new AuthenticationError(redact(error.service), redact(error.detail), redact(error.fix));
  return new UnitError(redact(errorMessage(error)), { retryable: isRetryable(error) });
}

/** What a thrown value says: its name and message, or itself when it is no Error. */
function thrownText(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`;
    const message = (thrown as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : String(thrown);
  } catch {
    return 'a value whose message cannot be read';
  }
}

/**
 * A body that is not JSON, a JSON pointer that finds nothing usable in it (a cursor integer past
 * 2^53 included), a page the same as the one before it (the API ignored the paginator's
 * parameter), or a next page's URL that cannot be followed or saved as a cursor (a secret outside
 * its query, user info, another origin).
 */
export class HttpBodyError extends UnitError {
  override name = 'HttpBodyError';
  readonly resource: string;
  readonly url: string;
  constructor(
    at: PageLocation,
    readonly pointer: string | undefined,
    reason: string,
  ) {
    super(`${where(at)}${pointer === undefined ? '' : `, pointer "${pointer}"`}: ${reason}`, {
      retryable: false,
    });
    this.resource = at.resource;
    this.url = at.url;
  }
}

/** A cursor in the checkpoint that this source did not write (another tool, another version). */
export class HttpCursorError extends UnitError {
  override name = 'HttpCursorError';
  constructor(
    readonly unit: string,
    reason: string,
  ) {
    super(`unit "${unit}": cursor ${reason}; reset the unit to start it over`, {
      retryable: false,
    });
  }
}
