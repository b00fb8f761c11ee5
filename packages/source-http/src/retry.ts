/**
 * When a request is worth another try, and how long the server asked us to wait first. Pure:
 * the loop itself is p-retry's (attempts, exponential backoff with jitter, abort).
 */
import { STATUS_CODES } from 'node:http';
import { rateLimitFromHeaders } from './rate-limit.js';

/** Answers that a later try may get right: timeouts, rate limits, the server's own failures. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Answers whose headers may say when to come back (Retry-After, RateLimit-Reset). */
const WAIT_STATUSES = new Set([413, 429, 503]);

/** What came back for a request: its status, headers and body (read out whole). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * An answer that is not a page: an error status, a 2xx HTML page where JSON was expected
 * (`html`), or a 2xx with an empty body (`empty`). p-retry tries again when `retryable`; the last
 * one is reported.
 */
export class StatusFailure extends Error {
  readonly retryable: boolean;
  constructor(
    readonly answer: Answer,
    readonly html = false,
    readonly empty = false,
  ) {
    super(`${answer.status} ${STATUS_CODES[answer.status] ?? ''}`.trim());
    // A 200 maintenance page is tried again now only when the server said when (Retry-After):
    // without it, nothing tells that a try a second later would not get the same page. An empty
    // 200 is a worker that died after its headers, or a proxy's: the next try usually passes.
    this.retryable =
      empty ||
      RETRYABLE_STATUSES.has(answer.status) ||
      (html && answer.status < 300 && answer.headers.has('retry-after'));
  }
}

/**
 * Errors of the connection rather than of the request: worth another try. Node's own codes and
 * undici's for a socket that closed or a server that did not answer in time; a host name that
 * does not resolve (ENOTFOUND) or a request undici refuses is not.
 */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** A try that ran past the `timeout` option: worth another, as a socket timeout is. */
export class RequestTimeout extends Error {
  constructor(readonly ms: number) {
    super(`the request took longer than the timeout option (${ms} ms)`);
  }
}

export function isNetworkError(error: unknown): boolean {
  if (error instanceof RequestTimeout) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/**
 * How long the server asked to wait before the next try, in ms: `Retry-After` (seconds or an
 * HTTP date), else the rate limit's reset (`RateLimit`, `RateLimit-Reset`, `X-RateLimit-Reset`),
 * on 413, 429 and 503, and on a 2xx HTML page in place of JSON. Undefined when it said nothing
 * usable.
 */
export function serverWaitMs(response: Answer, now: Date): number | undefined {
  // A 2xx failure is an HTML page (a maintenance page) that said when to come back.
  if (!WAIT_STATUSES.has(response.status) && response.status >= 300) return undefined;
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter !== null) {
    const trimmed = retryAfter.trim();
    if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
    const date = Date.parse(trimmed);
    if (Number.isFinite(date)) return Math.max(0, date - now.getTime());
  }
  const reset = rateLimitFromHeaders(response.headers, now)?.resetAt;
  return reset === undefined ? undefined : Math.max(0, Date.parse(reset) - now.getTime());
}
