import { STATUS_CODES } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { RateLimitInfo } from '@checkpointkit/core';
import pRetry from 'p-retry';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { type Auth, applyAuth, cursorUrl, redactor } from './auth.js';
import { decoded, PageTooLarge, UndecodableBody } from './body.js';
import {
  authApplyFailure,
  HttpAuthError,
  HttpBodyError,
  HttpEmptyBodyError,
  HttpRequestError,
  type PageLocation,
} from './errors.js';
import { describeHtml, isHtml } from './html.js';
import { type CachedPage, keptHeaders, type PageCache, revalidatedHeaders } from './page-cache.js';
import { rateLimitFromHeaders } from './rate-limit.js';
import { RedirectRefused, requestFollowing } from './redirects.js';
import {
  type Answer,
  isNetworkError,
  RequestTimeout,
  StatusFailure,
  serverWaitMs,
} from './retry.js';

export interface Fetched {
  headers: Headers;
  body: unknown;
  /** The body as the API sent it (decoded), to tell a page from the one before it. */
  text: string;
  rateLimit: RateLimitInfo | undefined;
  /** A `204 No Content`: no body, no records, and the end of the resource. */
  noContent?: true;
}

export interface RequesterOptions {
  auth: Auth | undefined;
  headers: Record<string, string>;
  retries: number;
  maxRetryDelay: number;
  /** The most bytes of one page's body, decoded. */
  maxPageBytes: number;
  /** The most ms one try (redirects, headers and body) may take. */
  timeout: number;
  dispatcher: Dispatcher | undefined;
  now: () => Date;
  onRateLimit: ((info: RateLimitInfo) => void) | undefined;
  cache: PageCache | undefined;
}

/** A request's headers with the credentials, and without them (for another origin). */
interface HeaderSets {
  authed: Record<string, string>;
  plain: Record<string, string>;
}

/** The first backoff; each later one doubles, up to `maxRetryDelay`, times a random 1 to 2. */
const FIRST_BACKOFF_MS = 300;

/**
 * Fetches one page with undici's `request` (the client under Node's fetch), following redirects
 * itself (see redirects.ts); gzip, deflate and brotli bodies are decoded with node:zlib (undici's
 * decompress interceptor prints an experimental-feature warning into the user's output). p-retry
 * tries again on 408/429/5xx and network errors, a body cut short included, with exponential backoff
 * and jitter; on 413/429/503 it first waits out what the server asked for (`Retry-After` in
 * seconds or as an HTTP date, or the rate limit's reset).
 *
 * Not ky on fetch (used before): per request ky builds the Request twice, clones it and composes
 * an abort signal, and fetch adds its own WHATWG work; on a 200-page collection from 127.0.0.1
 * that measured 1.3x to 2x a bare fetch loop, where undici's `request` takes about 0.6x of it.
 */
export class Requester {
  readonly #options: RequesterOptions;
  readonly #dispatcher: Dispatcher;
  readonly redact: (text: string) => string;
  requests = 0;
  /** Requests the API answered with 304 Not Modified (the kept page was used). */
  notModified = 0;

  constructor(options: RequesterOptions) {
    this.#options = options;
    this.redact = redactor(options.auth);
    this.#dispatcher = options.dispatcher ?? getGlobalDispatcher();
  }

  async get(at: PageLocation, url: URL, signal: AbortSignal): Promise<Fetched> {
    const target = new URL(url);
    const headers = new Headers({
      accept: 'application/json',
      'accept-encoding': 'gzip, deflate, br',
      ...this.#options.headers,
    });
    // Keyed by the URL before credentials go into it.
    const kept = await this.#options.cache?.get(url.href);
    if (kept) {
      headers.set('if-none-match', kept.etag);
      // Revalidate, said explicitly: some servers (Express's `fresh`) never answer 304 to a
      // conditional request marked `no-cache`, which is what fetch would send.
      if (!headers.has('cache-control')) headers.set('cache-control', 'max-age=0');
    }
    // Without credentials: what a redirect to another origin is sent with.
    const plain = Object.fromEntries(headers);
    try {
      await applyAuth(this.#options.auth, target, headers);
    } catch (error) {
      throw authApplyFailure(at, error, this.redact);
    }
    let answer: Answer;
    try {
      answer = await this.#fetchWithRetries(
        target,
        { authed: Object.fromEntries(headers), plain },
        signal,
      );
    } catch (error) {
      throw this.#failure(at, error, signal);
    }
    const rateLimit = rateLimitFromHeaders(answer.headers, this.#options.now());
    if (rateLimit) this.#options.onRateLimit?.(rateLimit);
    if (answer.status === 304) return this.#reuse(at, kept, answer, rateLimit);
    // An empty list, said without a body (an empty collection, a page past the last): parsed,
    // its empty body failed the unit as "not JSON".
    if (answer.status === 204)
      return { headers: answer.headers, body: undefined, text: '', rateLimit, noContent: true };
    const body = this.#parse(at, answer.text);
    const etag = answer.headers.get('etag');
    // Kept with secrets replaced: APIs echo a query key in their Link headers, even in bodies.
    // An ETag that holds one is not kept at all: replaced, it would never match again.
    if (etag && this.#options.cache && this.redact(etag) === etag)
      await this.#options.cache.set(url.href, {
        etag,
        headers: keptHeaders(answer.headers).map(([name, value]) => [name, this.redact(value)]),
        body: this.redact(answer.text),
      });
    return { headers: answer.headers, body, text: answer.text, rateLimit };
  }

  #fetchWithRetries(target: URL, headers: HeaderSets, signal: AbortSignal): Promise<Answer> {
    const { retries, maxRetryDelay, now } = this.#options;
    return pRetry(() => this.#fetchOnce(target, headers, signal), {
      retries,
      factor: 2,
      minTimeout: FIRST_BACKOFF_MS,
      maxTimeout: maxRetryDelay,
      randomize: true,
      signal,
      shouldRetry: ({ error }) =>
        !signal.aborted &&
        (error instanceof StatusFailure ? error.retryable : isNetworkError(error)),
      async onFailedAttempt({ error, retriesLeft }) {
        if (!(error instanceof StatusFailure) || !error.retryable || retriesLeft === 0) return;
        const wait = serverWaitMs(error.answer, now());
        if (wait === undefined) return;
        // Longer than we are willing to wait: fail now (retryable by the next run).
        if (wait > maxRetryDelay) throw error;
        await delay(wait, undefined, { signal });
      },
    });
  }

  /** One try: the whole answer, its body read out (a body cut short is a network error). */
  async #fetchOnce(target: URL, headers: HeaderSets, signal: AbortSignal): Promise<Answer> {
    this.requests++;
    const { auth, timeout, maxPageBytes } = this.#options;
    // The try's own signal: the pipeline's abort, or the try running past `timeout` (a body that
    // trickles a byte at a time never trips undici's idle timeouts, and held the job for ever).
    const attempt = new AbortController();
    const stop = () => attempt.abort(signal.reason);
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(() => attempt.abort(new RequestTimeout(timeout)), timeout);
    try {
      const response = await requestFollowing(target, {
        ...headers,
        dispatcher: this.#dispatcher,
        signal: attempt.signal,
        forOtherOrigin: (url) => cursorUrl(auth, url, this.redact),
        redact: this.redact,
      });
      const answer: Answer = {
        status: response.statusCode,
        headers: toHeaders(response.headers),
        text: await decoded(response.headers['content-encoding'], response.body, maxPageBytes),
      };
      // HTML where JSON was expected (a maintenance page served with 200): reported as such,
      // and tried again when the server said when, rather than failed as a body not JSON.
      if (answer.status >= 200 && answer.status < 300 && answer.status !== 204) {
        if (isHtml(answer.headers.get('content-type'), answer.text))
          throw new StatusFailure(answer, true);
        // Nothing where a page was expected: not the end of the list (a 204 or an empty page says
        // that), and taken for one a proxy's fault would end the list early, without a word.
        if (answer.text.trim() === '') throw new StatusFailure(answer, false, true);
      }
      if ((answer.status >= 200 && answer.status < 300) || answer.status === 304) return answer;
      throw new StatusFailure(answer);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  }

  /** A 304: the kept page, its headers updated with the answer's. */
  #reuse(
    at: PageLocation,
    kept: CachedPage | undefined,
    answer: Answer,
    rateLimit: RateLimitInfo | undefined,
  ): Fetched {
    if (!kept)
      throw new HttpRequestError(at, 304, 'Not Modified to a request that had no If-None-Match', {
        retryable: false,
      });
    this.notModified++;
    const body = this.#parse(at, kept.body);
    return { headers: revalidatedHeaders(kept, answer.headers), body, text: kept.body, rateLimit };
  }

  #parse(at: PageLocation, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpBodyError(at, undefined, `the body is not JSON (${clip(this.redact(text))})`);
    }
  }

  #failure(at: PageLocation, error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof StatusFailure) {
      const { status, headers, text } = error.answer;
      if (error.empty) return new HttpEmptyBodyError(at, status);
      if (status === 401) return new HttpAuthError(at, status);
      const rateLimit = rateLimitFromHeaders(headers, this.#options.now());
      if (status === 403 && rateLimit?.remaining === 0) {
        return new HttpRequestError(
          at,
          status,
          `rate limit exhausted (resets ${rateLimit.resetAt ?? 'later'})`,
          { retryable: true },
        );
      }
      if (status === 403) return new HttpAuthError(at, status);
      // Retryable by the next run whatever its status: an HTML page where JSON was expected is
      // a maintenance page, a proxy's or a captive portal's, which pass; failed for good, the
      // unit would wait for someone to reset it. A baseUrl that points at the website fails
      // again, as it says.
      if (error.html)
        return new HttpRequestError(
          at,
          status,
          `${STATUS_CODES[status] ?? ''}, but ${this.redact(describeHtml(text))} where JSON was expected`,
          { retryable: true },
        );
      // An error page in HTML: its title, not 200 characters of markup.
      const reason = isHtml(headers.get('content-type'), text)
        ? `${STATUS_CODES[status] ?? ''}: ${this.redact(describeHtml(text))}`
        : `${STATUS_CODES[status] ?? ''} ${clip(this.redact(text))}`.trim();
      // A later run may well get a 501 or 505 through, though a retry now would not.
      return new HttpRequestError(at, status, reason, {
        retryable: status === 408 || status === 429 || status >= 500,
      });
    }
    if (error instanceof RedirectRefused)
      return new HttpRequestError(at, error.status, error.message, { retryable: false });
    if (error instanceof UndecodableBody)
      return new HttpBodyError(at, undefined, `the body cannot be decoded (${error.message})`);
    if (error instanceof PageTooLarge)
      return new HttpBodyError(
        at,
        undefined,
        `the body is larger than maxPageBytes (${error.limit} bytes); raise the option if the API's pages are that large`,
      );
    const reason = error instanceof Error ? `${error.message}${causeOf(error)}` : String(error);
    return new HttpRequestError(at, undefined, this.redact(reason), { retryable: true });
  }
}

/** undici's header record (a list for repeated headers such as set-cookie) as fetch's Headers. */
function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (value) for (const one of value) headers.append(name, one);
  }
  return headers;
}

/** The error's code (undici's and Node's are on the error; fetch's were on its cause). */
function causeOf(error: Error): string {
  const code =
    (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? ` (${code})` : '';
}

/** Keeps an unexpected body (an HTML page, a proxy's dump) from filling the checkpoint. */
function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
