import { STATUS_CODES } from 'node:http';
import {
  AuthenticationError,
  CheckpointError,
  type FailureCause,
  type RateLimitInfo,
  UnitError,
} from '@checkpointkit/core';
import {
  askedWait,
  formatResumeTime,
  rateLimitFromHeaders,
  retryAfterSeconds,
} from './rate-limit.js';

/** An option of `githubSource` that cannot work. Names the option and the cause. */
export class GithubSourceConfigError extends CheckpointError {
  override name = 'GithubSourceConfigError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`githubSource: option "${field}" ${reason}`);
  }
}

/** A request GitHub answered with an error. `retryable` says whether a later attempt may succeed. */
export class GithubRequestError extends UnitError {
  override name = 'GithubRequestError';
  constructor(
    message: string,
    readonly status: number,
    readonly request: string,
    options: { retryable: boolean; failureCause?: FailureCause },
  ) {
    super(message, options);
  }
}

/**
 * GitHub refused the token (401): every request would be refused, so the run stops at once
 * (`pipeline()` rejects with this error), no unit is marked failed, and the next run with a good
 * token continues where this one stopped. The token itself is never in the message.
 */
export class GithubAuthenticationError extends AuthenticationError {
  override name = 'GithubAuthenticationError';
  constructor(
    readonly status: number,
    readonly request: string,
    reason: string,
    failureCause: FailureCause,
  ) {
    super(
      'GitHub',
      `${status} ${reason} at ${request}`,
      'check the token given as `auth` (GITHUB_TOKEN in the examples): it may be mistyped, expired or revoked, then run again',
      { failureCause },
    );
  }
}

/**
 * The primary rate limit ran out and its reset is further away than the source may wait. The
 * source stops (its `signal` aborts with this error); resume after `resetAt`.
 */
export class RateLimitExhaustedError extends UnitError {
  override name = 'RateLimitExhaustedError';
  readonly resetAt: string | undefined;
  constructor(
    readonly rateLimit: RateLimitInfo,
    request: string,
    now: Date,
  ) {
    super(
      `GitHub rate limit exhausted (${rateLimit.resource ?? 'core'}: ${rateLimit.remaining} of ${rateLimit.limit} left) ` +
        `at ${request}: resume after ${formatResumeTime(rateLimit.resetAt, now)}`,
      { retryable: true },
    );
    this.resetAt = rateLimit.resetAt;
  }
}

/**
 * GitHub answered 200 with something the source cannot use: a rel="next" Link to another host,
 * endpoint or a page already read, a body of the wrong shape, the token echoed where the
 * checkpoint would keep it. `field` names what was wrong (`link`, `body`, `cursor.etag`...).
 * Retryable when a later answer may be sound (a proxy's error page); a Link that leads away from
 * the API is not followed, then or later.
 */
export class GithubResponseError extends UnitError {
  override name = 'GithubResponseError';
  constructor(
    readonly request: string,
    readonly field: string,
    reason: string,
    options: { retryable: boolean },
  ) {
    super(`${request}: ${reason}${options.retryable ? '' : ' (not retryable)'}`, options);
  }
}

/** A cursor in the checkpoint that this source did not write (another tool, another version). */
export class GithubCursorError extends UnitError {
  override name = 'GithubCursorError';
  constructor(
    readonly unit: string,
    reason: string,
  ) {
    super(`unit "${unit}": cursor ${reason}; reset the unit to start it over`, {
      retryable: false,
    });
  }
}

/** The shape of an @octokit/request-error RequestError, without depending on its class identity. */
export interface HttpFailure {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown } | undefined;
}

export function isHttpFailure(error: unknown): error is HttpFailure {
  return (
    error instanceof Error &&
    typeof (error as { status?: unknown }).status === 'number' &&
    'request' in error
  );
}

/** What a failed request means for the unit. */
export type Outcome =
  | { kind: 'not-modified' }
  | { kind: 'empty-repository' }
  | { kind: 'rate-limit-exhausted'; error: RateLimitExhaustedError }
  | { kind: 'unauthorized'; error: GithubAuthenticationError }
  | { kind: 'failed'; error: GithubRequestError };

const NOT_RETRYABLE = new Set([400, 401, 403, 404, 410, 422, 451]);

/**
 * Classifies an HTTP failure that octokit's throttling and retry plugins gave up on: 304 is
 * "unchanged", 409 an empty repository, 403/429 with no requests left the exhausted primary limit;
 * 401 stops the run (the token is refused); 404, 410, 451 and other 4xx fail the unit for
 * good; 5xx, network errors (status 500) and secondary limits are worth retrying later. `url` (the
 * absolute URL asked for) goes, decoded, into the failure's structured cause.
 */
export function classifyFailure(
  failure: HttpFailure,
  request: string,
  now: Date,
  redact: (text: string) => string,
  url?: string,
): Outcome {
  const { status } = failure;
  if (status === 304) return { kind: 'not-modified' };
  if (status === 409) return { kind: 'empty-repository' };
  const headers = failure.response?.headers;
  const rateLimit = rateLimitFromHeaders(headers);
  const reason = clip(redact(githubMessage(failure)));
  const failureCause: FailureCause = {
    status,
    ...(url !== undefined && { url: redact(decodedUrl(url)) }),
  };
  if (status === 401) {
    return {
      kind: 'unauthorized',
      error: new GithubAuthenticationError(status, request, reason, failureCause),
    };
  }
  if ((status === 403 || status === 429) && rateLimit?.remaining === 0) {
    return {
      kind: 'rate-limit-exhausted',
      // The resource name is the server's text: it goes into the message, so it is redacted too.
      error: new RateLimitExhaustedError(
        rateLimit.resource === undefined
          ? rateLimit
          : { ...rateLimit, resource: redact(rateLimit.resource) },
        request,
        now,
      ),
    };
  }
  const secondary = (status === 403 || status === 429) && /secondary rate|abuse/i.test(reason);
  if (secondary || status === 429) {
    // A 429 without GitHub's words (a proxy's) was waited for like a secondary limit, but it
    // is no "retries exhausted": it may not have been retried at all (a wait past maxResetWait).
    const what = secondary
      ? `${status} secondary rate limit, retries exhausted (${reason})`
      : `429 rate limited (${reason})`;
    const error = new GithubRequestError(
      `${request}: ${what}; ${waitAsked(askedWait(headers, now), now)}`,
      status,
      request,
      { retryable: true, failureCause },
    );
    return { kind: 'failed', error };
  }
  const retryable = !NOT_RETRYABLE.has(status) && (status >= 500 || status < 400 || status === 408);
  const what = status === 500 && !failure.response ? 'network error' : String(status);
  // A 5xx's retry-after (a load balancer's) was waited for, or was beyond maxResetWait.
  const asked = status >= 500 ? retryAfterSeconds(headers?.['retry-after'], now) : undefined;
  const wait = asked === undefined ? '' : `; ${waitAsked(asked, now)}`;
  const error = new GithubRequestError(
    `${request}: ${what} ${reason}${wait}${retryable ? '' : ' (not retryable)'}`,
    status,
    request,
    { retryable, failureCause },
  );
  return { kind: 'failed', error };
}

/** How long a response asked to wait (see {@link askedWait}), for a person. */
function waitAsked(seconds: number | undefined, now: Date): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return 'the server said for how long in no readable retry-after (60 s assumed)';
  }
  const until = new Date(now.getTime() + seconds * 1000);
  // Millions of years away no date holds: toISOString threw, and that was the unit's error.
  if (Number.isNaN(until.getTime())) return `the server asks to wait ${seconds} s`;
  return `the server asks to wait ${seconds} s: retry after ${formatResumeTime(until.toISOString(), now)}`;
}

/** Messages as the server gave them, of failures {@link relabel} changed. */
const givenMessages = new WeakMap<object, string>();

/**
 * Changes a failure's message (the throttling plugin knows a secondary limit only by it), while
 * the unit's error keeps the server's own.
 */
export function relabel(failure: HttpFailure, message: string): void {
  if (!givenMessages.has(failure)) givenMessages.set(failure, failure.message);
  failure.message = message;
}

/** Keeps an unexpected error body (an HTML page, a proxy's dump) from filling the checkpoint. */
export function clip(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * GitHub's own message (`Not Found`, `Repository access blocked`); for a body without one, the
 * status's name (`Not Found`), not octokit's `Unknown error: {…the body…}`; else the client's.
 */
function githubMessage(failure: HttpFailure): string {
  const data = failure.response?.data;
  if (
    data &&
    typeof data === 'object' &&
    typeof (data as { message?: unknown }).message === 'string' &&
    (data as { message: string }).message !== ''
  ) {
    return (data as { message: string }).message;
  }
  if (typeof data === 'string' && /^\s*</.test(data)) return htmlPage(failure.status, data);
  const message = givenMessages.get(failure) ?? failure.message;
  // An empty message (`{"message": ""}`, an empty body) said nothing either.
  if (failure.response && /^(Unknown error\b|\s*$)/.test(message)) {
    return STATUS_CODES[failure.status] ?? 'Unknown error';
  }
  return message;
}

/**
 * An HTML error page (a proxy's, a load balancer's, GitHub's own "Unicorn!") as a person reads
 * it: the status's name and the page's title. Its markup, octokit's message, filled the
 * checkpoint and the terminal with 500 characters of tags.
 */
function htmlPage(status: number, html: string): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(html)?.[1]?.replace(/\s+/g, ' ').trim();
  const titled = title ? ` titled "${clip(title, 100)}"` : '';
  return `${STATUS_CODES[status] ?? 'Error'} (an HTML page${titled}, not GitHub's JSON)`;
}

/** The URL as a person reads it: `%20` and `%C3%A9` decoded; left as is when it does not decode. */
export function decodedUrl(url: string): string {
  try {
    return decodeURI(url);
  } catch {
    return url;
  }
}
