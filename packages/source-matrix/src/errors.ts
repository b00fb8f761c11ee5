import {
  AuthenticationError,
  CheckpointError,
  type FailureCause,
  UnitError,
} from '@checkpointkit/core';

/** An option given to `matrixSource` is missing or wrong. Names the option and what is wrong. */
export class MatrixConfigError extends CheckpointError {
  override name = 'MatrixConfigError';
  /** A unit failed by its configuration fails the same way again: not worth retrying. */
  readonly retryable = false;
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`matrixSource: option "${option}" ${reason}`);
  }
}

export interface MatrixRequestErrorInit {
  /** `GET /_matrix/client/v3/...`: the method and path, never the query string or headers. */
  endpoint: string;
  /** HTTP status, or null when no response arrived (network error, timeout). */
  status: number | null;
  /** The Matrix `errcode` of the response, when it had one. */
  errcode: string | null;
  /** What went wrong, already free of secrets. */
  detail: string;
  retryable: boolean;
  cause?: unknown;
  /** The URL asked for, decoded and without its query string, for the structured cause. */
  url?: string;
}

/** The structured cause of a failed request: status, errcode, URL, each when known. */
function causeOf(init: Pick<MatrixRequestErrorInit, 'status' | 'errcode' | 'url'>): FailureCause {
  return {
    ...(init.status !== null && { status: init.status }),
    ...(init.errcode && { errcode: init.errcode }),
    ...(init.url !== undefined && { url: init.url }),
  };
}

/**
 * A request to the homeserver failed. 401, 403 and 404 (and other client errors) are not
 * retryable; rate limits, server errors and network errors are, once the source's own bounded
 * retries are used up. The message names the endpoint, the status and the errcode.
 */
export class MatrixRequestError extends UnitError {
  override name = 'MatrixRequestError';
  readonly endpoint: string;
  readonly status: number | null;
  readonly errcode: string | null;
  /** What went wrong, as the server said it (free of secrets), without the endpoint and status. */
  readonly detail: string;
  constructor(init: MatrixRequestErrorInit) {
    const status = init.status === null ? 'no response' : String(init.status);
    const code = init.errcode ? ` ${init.errcode}` : '';
    super(`${init.endpoint} failed: ${status}${code}: ${init.detail}`, {
      retryable: init.retryable,
      cause: init.cause,
      failureCause: causeOf(init),
    });
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.errcode = init.errcode;
    this.detail = init.detail;
  }
}

/**
 * The homeserver refused the access token (401, `M_UNKNOWN_TOKEN`, `M_MISSING_TOKEN`): every room
 * would be refused, so the run stops at once (`pipeline()` rejects with this error), no room is
 * marked failed, and the next run with a good token continues. The token is never in the message.
 */
export class MatrixAuthenticationError extends AuthenticationError {
  override name = 'MatrixAuthenticationError';
  readonly endpoint: string;
  readonly status: number;
  readonly errcode: string | null;
  constructor(init: {
    endpoint: string;
    status: number;
    errcode: string | null;
    detail: string;
    url?: string;
  }) {
    const code = init.errcode ? ` ${init.errcode}` : '';
    super(
      'the Matrix homeserver',
      `${init.status}${code}: ${init.detail} at ${init.endpoint}`,
      'check the access token given as `accessToken`: it may be mistyped, logged out or expired; log in again for a new one, then run again',
      { failureCause: causeOf(init) },
    );
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.errcode = init.errcode;
  }
}

/** Errcodes that mean the token itself is refused, whatever the status. */
export const AUTH_ERRCODES: ReadonlySet<string> = new Set(['M_UNKNOWN_TOKEN', 'M_MISSING_TOKEN']);

/** The homeserver kept answering 429 M_LIMIT_EXCEEDED, or asked for a longer wait than allowed. */
export class MatrixRateLimitError extends MatrixRequestError {
  override name = 'MatrixRateLimitError';
  /** The wait the server asked for last, in milliseconds, when it said. */
  readonly retryAfterMs: number | null;
  constructor(
    init: Omit<MatrixRequestErrorInit, 'status' | 'retryable'> & { retryAfterMs: number | null },
  ) {
    super({ ...init, status: 429, retryable: true });
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * Paging through a room went wrong: the server handed back a token it had given before (a loop),
 * kept sending empty pages, sent an event of another room, sent a `start` or `end` that is not a
 * token, or the start of the history cannot be found. Retrying will not fix those (not
 * retryable). The exception: the server refused, in the middle of a read, a token it had just
 * handed out itself; that one is retryable, and its `failureCause` has the status and errcode.
 * The message starts with the room id.
 */
export class MatrixPaginationError extends UnitError {
  override name = 'MatrixPaginationError';
  constructor(
    readonly roomId: string,
    reason: string,
    options: { retryable?: boolean; failureCause?: FailureCause } = {},
  ) {
    super(`room ${roomId}: ${reason}`, {
      retryable: options.retryable ?? false,
      ...(options.failureCause && { failureCause: options.failureCause }),
    });
  }
}

/** A unit's stored cursor is not one this source wrote. Names the unit and the field. */
export class MatrixCursorError extends UnitError {
  override name = 'MatrixCursorError';
  constructor(
    readonly unit: string,
    reason: string,
  ) {
    super(`unit "${unit}": the checkpoint's cursor is not a Matrix cursor: ${reason}`, {
      retryable: false,
    });
  }
}

/** What {@link redact} puts where the secret was. */
export const REDACTED = '<redacted>';

/**
 * Replaces every occurrence of `secret` in `text`, as it is or URL-encoded, so a token echoed by a
 * server never travels on. A server quoting the URL it was asked for sends a token with `/`, `+`
 * or `=` in it (a base64 one: an old Synapse macaroon, an appservice token) percent- or
 * form-encoded, in either case of hex: matched as is, it went into errors and held replies.
 */
export function redact(text: string, secret: string): string {
  if (secret.length === 0) return text;
  return text.replace(secretPattern(secret), REDACTED);
}

const patterns = new Map<string, RegExp>();

function secretPattern(secret: string): RegExp {
  let pattern = patterns.get(secret);
  if (pattern === undefined) {
    const forms = new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice('s='.length),
    ]);
    const alternatives = [...forms].map((form) =>
      form
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        // The hex of a %-escape in either case: only an escape, never the token's own letters.
        .replace(/%([0-9A-F])([0-9A-F])/g, (_, a: string, b: string) => {
          const digit = (d: string) => (/[A-F]/.test(d) ? `[${d}${d.toLowerCase()}]` : d);
          return `%${digit(a)}${digit(b)}`;
        }),
    );
    // Longest first, so an encoded form is not half-replaced through a shorter one.
    alternatives.sort((x, y) => y.length - x.length);
    pattern = new RegExp(alternatives.join('|'), 'g');
    patterns.set(secret, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

/** Whether `text` holds `secret`, as it is or URL-encoded (see {@link redact}). */
export function holdsSecret(text: string, secret: string): boolean {
  return secret.length > 0 && redact(text, secret) !== text;
}
