import type { RateLimitInfo } from '@checkpointkit/core';
import type { Octokit } from '@octokit/core';
import type Bottleneck from 'bottleneck';
import {
  classifyFailure,
  decodedUrl,
  isHttpFailure,
  type RateLimitExhaustedError,
} from './errors.js';
import { rateLimitFromHeaders } from './rate-limit.js';

/** A page GitHub served. */
export interface Served {
  status: 'ok';
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

  /** GETs a page: a path below the API root, or a full URL GitHub gave. */
  async get(
    url: string,
    options: { etag?: string | null; signal: AbortSignal },
  ): Promise<GetResult> {
    const { octokit, queue } = this.#options;
    const call = () =>
      octokit.request(`GET ${url}`, {
        headers: options.etag ? { 'if-none-match': options.etag } : {},
        request: { signal: options.signal },
      });
    // Decoded: a person reads `café bar`, not `caf%C3%A9%20bar`.
    const display = `GET ${decodedUrl(displayUrl(url))}`;
    try {
      const response = await (queue ? queue.schedule(call) : call());
      this.requests += 1;
      const requested = absolute(url, octokit);
      // A fetch of the caller's may leave Response.url empty: then nothing redirected.
      const served = response.url || requested;
      return {
        status: 'ok',
        url: served,
        movedFrom: pathOf(served) === pathOf(requested) ? null : requested,
        data: response.data,
        next: nextLink(response.headers.link),
        etag: typeof response.headers.etag === 'string' ? response.headers.etag : null,
        rateLimit: rateLimitFromHeaders(
          response.headers as Record<string, string | number | undefined>,
        ),
      };
    } catch (error) {
      if (options.signal.aborted || !isHttpFailure(error)) throw error;
      this.requests += 1;
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
  const base = String(octokit.request.endpoint.DEFAULTS.baseUrl).replace(/\/$/, '');
  return base + url;
}

const pathOf = (url: string) => new URL(url).pathname;

/** A URL without its origin, for messages: `/repos/acme/api/issues?page=2`. */
function displayUrl(url: string): string {
  if (!/^https?:\/\//.test(url)) return url;
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}
