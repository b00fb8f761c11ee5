import type { RateLimitInfo } from '@checkpointkit/core';
import type { Octokit } from '@octokit/core';
import type Bottleneck from 'bottleneck';
import {
  classifyFailure,
  decodedUrl,
  GithubResponseError,
  isHttpFailure,
  type RateLimitExhaustedError,
} from './errors.js';
import { checkNext, isBelowRoot, sameUrl } from './links.js';
import { rateLimitFromHeaders } from './rate-limit.js';

/** A page GitHub served. */
export interface Served {
  status: 'ok';
  /** The request as messages show it: `GET /repos/acme/api/issues?per_page=100`. */
  request: string;
  /** The URL that answered (after redirects). */
  url: string;
  /** Set when GitHub redirected (a renamed or transferred repository). */
  movedFrom: string | null;
  data: unknown;
  /** The rel="next" Link URL, exactly as given. */
  next: string | null;
  etag: string | null;
  rateLimit: RateLimitInfo | undefined;
}

export type GetResult =
  | Served
  | { status: 'not-modified'; rateLimit: RateLimitInfo | undefined }
  | { status: 'empty-repository' };

export interface RequesterOptions {
  octokit: Octokit;
  /** Requests of one token go through this queue (null: no queue of the source's own). */
  queue: Bottleneck | null;
  redact: (text: string) => string;
  now: () => Date;
  /** Called when the primary rate limit ran out beyond the wait the client allows. */
  onExhausted: (error: RateLimitExhaustedError) => void;
}

/** Reads GitHub list pages: conditional requests, Link headers, redirects and failure classes. */
export class Requester {
  /** HTTP requests this requester completed (answered, whatever the status); retries inside octokit count once. */
  requests = 0;
  readonly #options: RequesterOptions;

  constructor(options: RequesterOptions) {
    this.#options = options;
  }

  /**
   * GETs a page: a path below the API root, or a full URL GitHub gave. The page's rel="next"
   * Link is checked (see {@link checkNext}) and must not lead to a page `readBefore` says this
   * walk read already (a circle would be walked forever); `paginated: false` ignores it.
   */
  async get(
    url: string,
    options: {
      etag?: string | null;
      signal: AbortSignal;
      paginated?: boolean;
      readBefore?: (url: string) => boolean;
    },
  ): Promise<GetResult> {
    const { octokit, queue, redact } = this.#options;
    const root = apiRoot(octokit);
    // Decoded: a person reads `café bar`, not `caf%C3%A9%20bar`.
    const display = `GET ${redact(decodedUrl(displayUrl(url)))}`;
    // A stored cursor is data: one edited, or written when a Link went unchecked, must not send
    // the token elsewhere either.
    if (/^https?:\/\//i.test(url) && !isBelowRoot(url, root)) {
      throw new GithubResponseError(
        display,
        'cursor',
        `the URL is not below the API root ${redact(root)}; not requested`,
        { retryable: false },
      );
    }
    const call = () =>
      octokit.request(`GET ${url}`, {
        headers: options.etag ? { 'if-none-match': options.etag } : {},
        request: { signal: options.signal },
      });
    try {
      const response = await (queue ? queue.schedule(call) : call());
      this.requests += 1;
      const requested = absolute(url, octokit);
      // A fetch of the caller's may leave Response.url empty: then nothing redirected.
      const served = response.url || requested;
      refuseRedirectAway(requested, served, root, display, redact);
      const next = options.paginated === false ? null : nextLink(response.headers.link);
      if (next !== null) {
        checkNext(next, served, root, display, redact);
        if (sameUrl(next) === sameUrl(served) || options.readBefore?.(sameUrl(next))) {
          throw new GithubResponseError(
            display,
            'link',
            `the rel="next" Link <${redact(decodedUrl(next))}> leads back to a page already read in this walk; not followed`,
            { retryable: false },
          );
        }
      }
      return {
        status: 'ok',
        request: display,
        url: served,
        movedFrom: pathOf(served) === pathOf(requested) ? null : requested,
        data: response.data,
        next,
        etag: typeof response.headers.etag === 'string' ? response.headers.etag : null,
        rateLimit: rateLimitFromHeaders(
          response.headers as Record<string, string | number | undefined>,
        ),
      };
    } catch (error) {
      // Stopped (during a plugin's wait too, which then gives up with the rate limit's error):
      // the stop is what happened, not a failure of the request.
      if (options.signal.aborted) throw options.signal.reason;
      if (!isHttpFailure(error)) throw error;
      this.requests += 1;
      // Answered elsewhere (a 401 there blamed the token, which fetch had not sent on).
      const answered = (error.response as { url?: unknown } | undefined)?.url;
      if (typeof answered === 'string' && answered !== '')
        refuseRedirectAway(absolute(url, octokit), answered, root, display, redact);
      const outcome = classifyFailure(
        error,
        display,
        this.#options.now(),
        this.#options.redact,
        absolute(url, octokit),
      );
      switch (outcome.kind) {
        case 'not-modified':
          return {
            status: 'not-modified',
            rateLimit: rateLimitFromHeaders(error.response?.headers),
          };
        case 'empty-repository':
          return { status: 'empty-repository' };
        case 'rate-limit-exhausted':
          this.#options.onExhausted(outcome.error);
          throw outcome.error;
        case 'unauthorized':
        case 'failed':
          throw outcome.error;
      }
    }
  }
}

/**
 * Fetch follows redirects, and to another origin (`http://` to `https://`, another host) it drops
 * the Authorization header: the answer there is not the API's for this token (a 401 that blamed
 * the token, a page walked without it). Fails the unit naming the baseUrl to use instead.
 */
function refuseRedirectAway(
  requested: string,
  served: string,
  root: string,
  request: string,
  redact: (text: string) => string,
): void {
  const from = new URL(requested);
  let to: URL;
  try {
    to = new URL(served);
  } catch {
    return;
  }
  if (to.origin === from.origin) return;
  // The path below the API root: what stands before it over there is the root to use.
  const below = from.pathname.slice(new URL(root).pathname.replace(/\/$/, '').length);
  const base = to.pathname.endsWith(below)
    ? to.origin + to.pathname.slice(0, to.pathname.length - below.length)
    : to.origin;
  throw new GithubResponseError(
    request,
    'redirect',
    `the server redirected it to ${redact(decodedUrl(to.origin + to.pathname))}, another address, which the token is not sent to; set baseUrl to ${redact(decodedUrl(base))}`,
    { retryable: false },
  );
}

/** The rel="next" URL of a Link header, untouched. */
export function nextLink(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(/,\s*(?=<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    const rel = match && /;\s*rel="?([^";]*)"?/.exec(match[2] ?? '');
    if (match && rel?.[1]?.split(/\s+/).includes('next')) return match[1] ?? null;
  }
  return null;
}

function absolute(url: string, octokit: Octokit): string {
  if (/^https?:\/\//.test(url)) return url;
  return apiRoot(octokit).replace(/\/$/, '') + url;
}

const apiRoot = (octokit: Octokit) => String(octokit.request.endpoint.DEFAULTS.baseUrl);

const pathOf = (url: string) => new URL(url).pathname;

/** A URL without its origin, for messages: `/repos/acme/api/issues?page=2`. */
function displayUrl(url: string): string {
  if (!/^https?:\/\//.test(url)) return url;
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}
