import type { RateLimitInfo } from '@checkpointkit/core';
import type { Dispatcher } from 'undici';
import type { Auth } from './auth.js';
import type { PageCache } from './page-cache.js';
import type { Paginator } from './paginators.js';

/** Query parameters of a request: each value is sent as its string form. */
export type QueryParams = Record<string, string | number | boolean>;

/** A child resource: one unit per record of its parent, e.g. `/posts/{id}/comments`. */
export interface ChildResource {
  /** The unit name (unique among all resources): units are `<name>/<value>[/<value>…]`. */
  name: string;
  /** A path whose `{field}` placeholders are filled from the parent record's fields. */
  path: string;
  params?: QueryParams;
  /** JSON pointer to the records in a page's body; `""` (the default) is the body itself. */
  records?: string;
  /** How its pages follow each other; the source's `paginator` when left out. */
  paginator?: Paginator;
  children?: readonly ChildResource[];
}

/** A top-level resource: one unit, read page by page. */
export interface Resource extends ChildResource {}

/** What an item delivered by the source carries. */
export interface HttpRecord {
  /** The resource's name. */
  resource: string;
  /** The unit it was read in (`posts`, `comments/1`). */
  unit: string;
  /** The record as the API returned it. */
  data: unknown;
}

/** Options of {@link httpSource}. Only `baseUrl` and `resources` are required. */
export interface HttpSourceOptions {
  /** The API's root, e.g. `https://api.example.com/v2`; resource paths are appended to it. */
  baseUrl: string;
  resources: readonly Resource[];
  /** The default paginator of every resource. Default: the Link header. */
  paginator?: Paginator;
  auth?: Auth;
  /** Headers sent with every request (no secrets here: use `auth`, which is kept out of messages). */
  headers?: Record<string, string>;
  /** Retries of a request on 408/429/5xx and network errors, with exponential backoff and full jitter. Default 4. */
  retries?: number;
  /** Upper bound of one backoff delay in ms (a longer `Retry-After` fails the request instead). Default 60 000. */
  maxRetryDelay?: number;
  /**
   * The most bytes one page's body may hold, decoded (after gzip, deflate or brotli). A larger
   * page (a body that does not end, a small gzip body that inflates to gigabytes) fails its unit
   * with an `HttpBodyError` once the limit is passed, instead of taking the process's memory.
   * Default 100 MiB.
   */
  maxPageBytes?: number;
  /**
   * The most time in ms one try of a request may take, redirects, headers and the whole body
   * included; a try that takes longer is dropped and tried again (a retryable network error). A
   * body that trickles in a byte at a time never trips undici's idle timeouts (`bodyTimeout`),
   * and would hold the job for ever. Default 300 000 (5 minutes).
   */
  timeout?: number;
  /** Called with each response's rate-limit state, when it has one. */
  onRateLimit?: (info: RateLimitInfo) => void;
  /**
   * Conditional requests: pages that came with an `ETag` are kept here, and the next request for
   * the same URL (a later run of the job) sends `If-None-Match`; a `304 Not Modified` reuses the
   * kept page, records, links and children alike. APIs such as GitHub's do not count a 304
   * against the rate limit. Default: none (no conditional requests).
   */
  cache?: PageCache;
  /**
   * The undici dispatcher requests go through (a `ProxyAgent`, an `Agent` with other timeouts or
   * TLS settings, a test's `MockAgent`). Default: undici's global dispatcher, as fetch uses.
   */
  dispatcher?: Dispatcher;
  /** For tests: the clock that rate-limit resets are computed from. */
  now?: () => Date;
}
