import type { RateLimitInfo } from '@checkpointkit/core';
import ky, { HTTPError, type KyInstance } from 'ky';
import { type Auth, applyAuth, redactor } from './auth.js';
import { HttpAuthError, HttpBodyError, HttpRequestError, type PageLocation } from './errors.js';
import { type CachedPage, keptHeaders, type PageCache, revalidatedHeaders } from './page-cache.js';
import { rateLimitFromHeaders } from './rate-limit.js';

export interface Fetched {
  headers: Headers;
  body: unknown;
  rateLimit: RateLimitInfo | undefined;
}

export interface RequesterOptions {
  auth: Auth | undefined;
  headers: Record<string, string>;
  retries: number;
  maxRetryDelay: number;
  fetch: typeof fetch | undefined;
  now: () => Date;
  onRateLimit: ((info: RateLimitInfo) => void) | undefined;
  cache: PageCache | undefined;
}

/**
 * Fetches one page with ky: retries on 408/429/5xx and network errors with exponential backoff
 * and full jitter, honouring `Retry-After` (seconds or an HTTP date) and `RateLimit-Reset`/
 * `X-RateLimit-Reset` on 413/429/503 (ky's own retry code, not ours).
 */
export class Requester {
  readonly #client: KyInstance;
  readonly #options: RequesterOptions;
  readonly redact: (text: string) => string;
  requests = 0;
  /** Requests the API answered with 304 Not Modified (the kept page was used). */
  notModified = 0;

  constructor(options: RequesterOptions) {
    this.#options = options;
    this.redact = redactor(options.auth);
    this.#client = ky.create({
      timeout: false,
      retry: {
        limit: options.retries,
        jitter: true,
        backoffLimit: options.maxRetryDelay,
        maxRetryAfter: options.maxRetryDelay,
        statusCodes: [408, 429, 500, 502, 503, 504],
        afterStatusCodes: [413, 429, 503],
      },
      // Counted in beforeRetry and after the answer, not in an afterResponse hook: ky clones
      // the response for such hooks, which tees every body (measured: a tenth of the time).
      hooks: { beforeRetry: [() => void this.requests++] },
      // A 304 is an answer, not an error: the kept page is used.
      throwHttpErrors: (status) => status !== 304,
      ...(options.fetch && { fetch: options.fetch }),
    });
  }

  async get(at: PageLocation, url: URL, signal: AbortSignal): Promise<Fetched> {
    const target = new URL(url);
    const headers = new Headers({ accept: 'application/json', ...this.#options.headers });
    // Keyed by the URL before credentials go into it.
    const kept = await this.#options.cache?.get(url.href);
    if (kept) {
      headers.set('if-none-match', kept.etag);
      // fetch adds `Cache-Control: no-cache` to a conditional request that has none, and some
      // servers (Express's `fresh`) never answer 304 to that; max-age=0 asks for revalidation.
      if (!headers.has('cache-control')) headers.set('cache-control', 'max-age=0');
    }
    await applyAuth(this.#options.auth, target, headers);
    let response: Response;
    try {
      response = await this.#client.get(target, { headers, signal });
    } catch (error) {
      this.requests++;
      throw await this.#failure(at, error, signal);
    }
    this.requests++;
    const rateLimit = rateLimitFromHeaders(response.headers, this.#options.now());
    if (rateLimit) this.#options.onRateLimit?.(rateLimit);
    if (response.status === 304) return this.#reuse(at, kept, response, rateLimit);
    const text = await response.text();
    const body = this.#parse(at, text);
    const etag = response.headers.get('etag');
    // Kept with secrets replaced: APIs echo a query key in their Link headers, even in bodies.
    if (etag && this.#options.cache)
      await this.#options.cache.set(url.href, {
        etag,
        headers: keptHeaders(response.headers).map(([name, value]) => [name, this.redact(value)]),
        body: this.redact(text),
      });
    return { headers: response.headers, body, rateLimit };
  }

  /** A 304: the kept page, its headers updated with the answer's. */
  async #reuse(
    at: PageLocation,
    kept: CachedPage | undefined,
    response: Response,
    rateLimit: RateLimitInfo | undefined,
  ): Promise<Fetched> {
    await response.body?.cancel();
    if (!kept)
      throw new HttpRequestError(at, 304, 'Not Modified to a request that had no If-None-Match', {
        retryable: false,
      });
    this.notModified++;
    const body = this.#parse(at, kept.body);
    return { headers: revalidatedHeaders(kept, response.headers), body, rateLimit };
  }

  #parse(at: PageLocation, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpBodyError(at, undefined, `the body is not JSON (${clip(this.redact(text))})`);
    }
  }

  async #failure(at: PageLocation, error: unknown, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) return signal.reason;
    if (error instanceof HTTPError) {
      const { status, headers } = error.response;
      // Read the body out: left unread, aborting the signal later errors its stream unhandled.
      const detail = clip(this.redact(await error.response.text().catch(() => '')));
      if (status === 401) return new HttpAuthError(at, status);
      const rateLimit = rateLimitFromHeaders(headers, this.#options.now());
      if (status === 403 && rateLimit?.remaining === 0) {
        return new HttpRequestError(
          at,
          status,
          `rate limit exhausted (resets ${rateLimit.resetAt ?? 'later'})`,
          {
            retryable: true,
          },
        );
      }
      if (status === 403) return new HttpAuthError(at, status);
      const retryable = status === 408 || status === 429 || status >= 500;
      return new HttpRequestError(at, status, `${error.response.statusText} ${detail}`.trim(), {
        retryable,
      });
    }
    const reason = error instanceof Error ? `${error.message}${causeOf(error)}` : String(error);
    return new HttpRequestError(at, undefined, this.redact(reason), { retryable: true });
  }
}

function causeOf(error: Error): string {
  const cause = error.cause as { code?: unknown } | undefined;
  return cause && typeof cause.code === 'string' ? ` (${cause.code})` : '';
}

/** Keeps an unexpected body (an HTML page, a proxy's dump) from filling the checkpoint. */
function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
