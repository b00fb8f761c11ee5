import { BodyTooLarge, parseJson, readAtMost } from './body.js';
import {
  AUTH_ERRCODES,
  MatrixAuthenticationError,
  MatrixConfigError,
  MatrixRateLimitError,
  MatrixRequestError,
  redact,
} from './errors.js';
import type { ResolvedOptions } from './options.js';
import { backoffMs, retryAfterMs } from './retry-after.js';

export type Query = Record<string, string | number | undefined>;

/** Statuses that send a request elsewhere (a 304 answers a conditional request, never sent here). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Statuses worth another attempt: rate limits and the server errors proxies and restarts produce. */
const TRANSIENT = new Set([500, 502, 503, 504]);

/**
 * GETs JSON from the homeserver's Client-Server API with the access token in the
 * `Authorization: Bearer` header (never in the URL), retrying 429, 5xx and network errors a bounded
 * number of times, after the `Retry-After` a 429 or 5xx gives (within `maxRetryWaitMs`), else
 * with backoff. Errors name the endpoint, status and errcode, and never the token.
 */
export class MatrixHttp {
  readonly #token: string;
  readonly #options: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#token = options.accessToken;
    this.#options = options;
  }

  async get(path: string, query: Query, signal: AbortSignal): Promise<unknown> {
    const options = this.#options;
    // Decoded for people: `#missing:localhost`, not `%23missing%3Alocalhost`.
    const endpoint = `GET ${decodedPath(path)}`;
    const url = new URL(options.homeserverUrl + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    // For the structured cause of a failure: decoded, without the query (pagination tokens).
    const causeUrl = this.#clean(url.origin + decodedPath(url.pathname));
    for (let attempt = 0; ; attempt++) {
      const left = attempt < options.maxRetries;
      let response: Response;
      try {
        response = await options.fetch(url, {
          headers: { authorization: `Bearer ${this.#token}`, accept: 'application/json' },
          // Followed, a redirect to another origin lost the Authorization header on the way,
          // and the run stopped on a 401 that blamed the token.
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(options.requestTimeoutMs)]),
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const detail = this.#clean(describeNetworkError(error));
        if (!left)
          throw new MatrixRequestError({
            endpoint,
            status: null,
            errcode: null,
            detail,
            retryable: true,
            url: causeUrl,
          });
        await this.#wait(endpoint, attempt, backoffMs(attempt), detail, signal);
        continue;
      }
      if (REDIRECTS.has(response.status)) throw this.#redirected(url, path, endpoint, response);
      let text: string;
      try {
        text = await readAtMost(response, options.maxResponseBytes);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // The same page would be as large on every attempt: only other options get past it.
        if (error instanceof BodyTooLarge)
          throw new MatrixRequestError({
            endpoint,
            status: response.status,
            errcode: null,
            detail: `the response is larger than maxResponseBytes (${error.limit} bytes): lower pageSize, or raise maxResponseBytes`,
            retryable: false,
            url: causeUrl,
          });
        text = ''; // a body cut short (a timeout, a reset): retried as a body that is not JSON
      }
      const body = parseJson(text, this.#token);
      if (response.ok) {
        if (body !== undefined) return body;
        // The header is the server's text, as free to echo the token as its body.
        const detail = this.#clean(
          `the response is not JSON (${response.headers.get('content-type') ?? 'no content type'})`,
        );
        if (!left)
          throw new MatrixRequestError({
            endpoint,
            status: response.status,
            errcode: null,
            detail,
            retryable: true,
            url: causeUrl,
          });
        await this.#wait(endpoint, attempt, backoffMs(attempt), detail, signal);
        continue;
      }
      const errcode = errcodeOf(body);
      const detail = this.#clean(errorText(body, response.statusText));
      if (response.status === 429) {
        const asked = retryAfterMs(response.headers.get('retry-after'), body);
        const wait = asked ?? backoffMs(attempt);
        if (!left || wait > options.maxRetryWaitMs) {
          const why = !left
            ? `still rate limited after ${attempt + 1} attempts`
            : this.#tooLong(wait);
          throw new MatrixRateLimitError({
            endpoint,
            errcode,
            detail: `${detail} (${why})`,
            retryAfterMs: asked,
            url: causeUrl,
          });
        }
        await this.#wait(endpoint, attempt, wait, `rate limited (${errcode ?? '429'})`, signal);
        continue;
      }
      if (TRANSIENT.has(response.status)) {
        // A proxy's 502 or 503 may say when the homeserver is back: waited for as a 429's is.
        const asked = retryAfterMs(response.headers.get('retry-after'), null);
        const wait = asked ?? backoffMs(attempt);
        if (!left || wait > options.maxRetryWaitMs)
          throw new MatrixRequestError({
            endpoint,
            status: response.status,
            errcode,
            detail: left ? `${detail} (${this.#tooLong(wait)})` : detail,
            retryable: true,
            url: causeUrl,
          });
        await this.#wait(
          endpoint,
          attempt,
          wait,
          `${response.status} ${errcode ?? ''}`.trim(),
          signal,
        );
        continue;
      }
      if (response.status === 401 || (errcode !== null && AUTH_ERRCODES.has(errcode))) {
        // The token is refused: every room would be. Stop the run, fail no room.
        throw new MatrixAuthenticationError({
          endpoint,
          status: response.status,
          errcode,
          detail,
          url: causeUrl,
        });
      }
      // 403, 404 and other client errors: asking again will not help.
      throw new MatrixRequestError({
        endpoint,
        status: response.status,
        errcode,
        detail,
        retryable: false,
        url: causeUrl,
      });
    }
  }

  #tooLong(wait: number): string {
    return `the server asks to wait ${wait} ms, more than maxRetryWaitMs (${this.#options.maxRetryWaitMs} ms)`;
  }

  #clean(text: string): string {
    return redact(text, this.#token);
  }

  /**
   * A redirect is not followed: the token would go wherever the server says, or (another origin)
   * be dropped by fetch and the 401 that follows blame it. The homeserverUrl to use is the target
   * without the path asked for (`https://matrix.example.org` for a server name that redirects).
   */
  #redirected(url: URL, path: string, endpoint: string, response: Response): MatrixConfigError {
    response.body?.cancel().catch(() => {});
    const location = response.headers.get('location');
    let target: URL | null = null;
    try {
      target = location === null ? null : new URL(location, url);
    } catch {
      // Not a URL: said as "without saying where".
    }
    const given = this.#options.homeserverUrl;
    const where = target
      ? `to ${this.#clean(target.origin + target.pathname)} (${response.status})`
      : `(${response.status}) without saying where`;
    const base =
      target?.pathname.endsWith(path) === true
        ? this.#clean(target.origin + target.pathname.slice(0, -path.length))
        : 'the address of the homeserver itself';
    return new MatrixConfigError(
      'homeserverUrl',
      `${given} redirects ${endpoint} ${where}; the access token goes to no other address: set homeserverUrl to ${base}`,
    );
  }

  async #wait(
    endpoint: string,
    attempt: number,
    ms: number,
    why: string,
    signal: AbortSignal,
  ): Promise<void> {
    this.#options.onWarning({
      code: 'retry',
      message: `${endpoint}: ${why}; attempt ${attempt + 2} of ${this.#options.maxRetries + 1} in ${ms} ms`,
      waitMs: ms,
    });
    await this.#options.sleep(ms, signal);
  }
}

function errcodeOf(body: unknown): string | null {
  if (body && typeof body === 'object' && 'errcode' in body && typeof body.errcode === 'string') {
    return body.errcode;
  }
  return null;
}

function errorText(body: unknown, statusText: string): string {
  if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string')
    return body.error;
  return statusText || 'no error message';
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  if (error.name === 'TimeoutError') return 'the request timed out';
  return `${error.message}${cause}`;
}

/** A path with its %-escapes decoded (room aliases, ids); left as is when it does not decode. */
function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
