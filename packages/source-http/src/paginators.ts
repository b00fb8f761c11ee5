import type { Json } from '@checkpointkit/core';
import LinkHeader from 'http-link-header';
import { nonEmptyText, pointerOption, wholeNumber } from './checks.js';
import { headerText } from './header-text.js';
import { PageCounts } from './page-counts.js';
import { isMissing, resolvePointer } from './pointer.js';

/** One page as a paginator sees it. */
export interface PageInfo {
  /** The URL this page was fetched from (without query credentials). */
  url: URL;
  headers: Headers;
  body: unknown;
  records: readonly unknown[];
}

/**
 * How a resource's pages follow each other. `next` returns the next page's URL (or `null` after
 * the last page): that URL is the cursor saved with the page, so a resumed run fetches exactly it.
 * Write your own for an API none of the built-in ones fits.
 */
export interface Paginator {
  /** Sets the first page's parameters on its URL (an offset of 0, page 1). */
  first?(url: URL): void;
  next(page: PageInfo): URL | null;
  /**
   * Whether a `404` for `url`, a next page this paginator returned, means the list ended before
   * it (an API past its last page) rather than a failure. Optional; without it a 404 fails the unit.
   */
  endsOnNotFound?(url: URL): boolean;
  /** What the paginator does, for the config digest (a changed paginator is a changed config). */
  readonly describe: Json;
}

/** A paginator found a body field it cannot use; the source adds the resource and page URL. */
export class PointerError extends Error {
  constructor(
    readonly pointer: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** Follows the `Link` header's `rel="next"` URL exactly as given; no such link ends the resource. */
export function linkHeader(): Paginator {
  return {
    describe: { type: 'link' },
    next: ({ url, headers }) => {
      const link = headers.get('link');
      const next = parseLink(link === null ? null : headerText(link))['next'];
      return next === undefined ? null : new URL(next, url);
    },
  };
}

/** Options of a body field read by JSON pointer. */
export interface BodyFieldOptions {
  /** JSON pointer into the page's body, e.g. `/meta/next`. */
  pointer: string;
  /**
   * When true, a field the body lacks ends the resource like `null` does. When false (the
   * default), it is an error: a wrong pointer must not pass for the last page.
   */
  optional?: boolean;
}

/** The next page's URL is in the body (absolute, or relative to the page); `null` or `""` ends. */
export function nextUrl(options: BodyFieldOptions): Paginator {
  pointerOption('nextUrl.pointer', options.pointer);
  return {
    describe: { type: 'next-url', pointer: options.pointer },
    next: ({ url, body }) => {
      const value = field(body, options);
      if (value === null) return null;
      if (typeof value !== 'string')
        throw new PointerError(options.pointer, `expected a URL, found ${kind(value)}`);
      return new URL(value, url);
    },
  };
}

/** An opaque cursor is in the body; the next page is this URL with `param` set to it. */
export function bodyCursor(options: BodyFieldOptions & { param: string }): Paginator {
  pointerOption('bodyCursor.pointer', options.pointer);
  nonEmptyText('bodyCursor.param', options.param);
  return {
    describe: { type: 'cursor', pointer: options.pointer, param: options.param },
    next: ({ url, body }) => {
      const value = field(body, options);
      if (value === null) return null;
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new PointerError(
          options.pointer,
          `expected a cursor (string or number), found ${kind(value)}`,
        );
      // JSON.parse rounds integers past 2^53 (64-bit ids, as Twitter's cursors were): sent back
      // rounded, the cursor names another page, and records are skipped or read twice, silently.
      if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value))
        throw new PointerError(
          options.pointer,
          `expected a cursor, found an integer past 2^53 (${value}) that JSON numbers lose digits of; point at the cursor's string form if the API sends one (such as next_cursor_str)`,
        );
      const next = new URL(url);
      next.searchParams.set(options.param, String(value));
      return next;
    },
  };
}

/** Where an API states how many records (or pages) there are. */
export type Total = { header: string } | { pointer: string };

/**
 * Offset and limit: `?offset=0&limit=100`, then 100, 200…; ends when the offset reaches the
 * `total` the API states (or on an empty page), and without a total on a short page. An API that
 * caps the limit below the one asked for (ask 500, get 100) ends the resource after its first
 * page when no total is given: keep `limit` at most the API's maximum.
 */
export function offsetLimit(options: {
  limit: number;
  offsetParam?: string;
  limitParam?: string;
  total?: Total;
}): Paginator {
  // A limit no page can fall short of (0, NaN, Infinity) would never end the resource.
  wholeNumber('offsetLimit.limit', options.limit, 1);
  const offsetParam = nonEmptyText('offsetLimit.offsetParam', options.offsetParam ?? 'offset');
  const limitParam = nonEmptyText('offsetLimit.limitParam', options.limitParam ?? 'limit');
  return {
    describe: {
      type: 'offset',
      limit: options.limit,
      offsetParam,
      limitParam,
      total: options.total ?? null,
    },
    first: (url) => {
      url.searchParams.set(offsetParam, '0');
      url.searchParams.set(limitParam, String(options.limit));
    },
    next: (page) => {
      const offset = Number(page.url.searchParams.get(offsetParam) ?? 0) + page.records.length;
      const total = readTotal(page, options.total);
      // Given a total, only it (or an empty page) ends: a short page before it is an API that
      // caps the limit below ours (GitHub, Stripe: 100), and stopping there lost the rest.
      const last =
        total === undefined
          ? page.records.length < options.limit
          : page.records.length === 0 || offset >= total;
      if (last) return null;
      const next = new URL(page.url);
      next.searchParams.set(offsetParam, String(offset));
      return next;
    },
  };
}

/**
 * Page numbers: `?page=1`, 2, 3…; ends on an empty page, or at the `total` the API states
 * (records; or pages, with `totalIs: 'pages'`). Without `size`, the records read are counted
 * page by page; a read resumed mid-list counts the pages before as full as the largest it saw,
 * and a `404` for the page after one that may have been the last (Django REST Framework's
 * `{"detail":"Invalid page."}`) ends the list. With `size` and a total of records,
 * a page shorter than the size asked before the total is an API that caps the size (ask 100,
 * get 50): the next pages are asked with the size it served (`per_page=50`), so no record is
 * skipped. An API that returns fewer records than its page size (it filters a page after
 * paging) may then have records read twice: duplicates, never gaps.
 */
export function pageNumber(options: {
  param?: string;
  start?: number;
  size?: { param: string; value: number };
  total?: Total;
  totalIs?: 'records' | 'pages';
}): Paginator {
  const param = nonEmptyText('pageNumber.param', options.param ?? 'page');
  // NaN pages: `?page=NaN` for ever.
  const start = wholeNumber('pageNumber.start', options.start ?? 1, 0);
  if (options.size) {
    nonEmptyText('pageNumber.size.param', options.size.param);
    wholeNumber('pageNumber.size.value', options.size.value, 1);
  }
  const counts = new PageCounts();
  return {
    describe: {
      type: 'page',
      param,
      start,
      size: options.size ?? null,
      total: options.total ?? null,
      totalIs: options.totalIs ?? 'records',
    },
    first: (url) => {
      url.searchParams.set(param, String(start));
      if (options.size) url.searchParams.set(options.size.param, String(options.size.value));
    },
    endsOnNotFound: (url) => counts.mayBePastLast(url),
    next: (page) => {
      const got = page.records.length;
      const before = counts.take(page.url);
      if (got === 0) return null;
      const current = Number(page.url.searchParams.get(param) ?? start);
      const done = current - start + 1;
      const total = readTotal(page, options.total);
      const next = new URL(page.url);
      next.searchParams.set(param, String(current + 1));
      if (total === undefined) return next;
      if (options.totalIs === 'pages') return done >= total ? null : next;
      if (!options.size) return counts.follow(next, done, got, total, before);
      // The size this page was asked with: the page's URL says, a resumed one too.
      const asked = Number(page.url.searchParams.get(options.size.param)) || options.size.value;
      // Where this page ends in the list if the API served the size asked: then exact.
      if ((done - 1) * asked + got >= total) return null;
      // Short of the size asked while the total says more follow: the API caps the size (Django
      // REST's max_page_size, GitHub's per_page at 100) and numbers its pages by the size it
      // serves. Taking page × size asked for the records read (as offsetLimit once took a short
      // page for the last) ended the resource early and lost the rest. Asking the next pages
      // with the size served keeps page numbers and the total in step, across resumes too.
      if (got < asked) next.searchParams.set(options.size.param, String(got));
      return next;
    },
  };
}

function readTotal(page: PageInfo, total: Total | undefined): number | undefined {
  if (!total) return undefined;
  if ('header' in total) {
    const value = page.headers.get(total.header);
    return value === null || !Number.isFinite(Number(value)) ? undefined : Number(value);
  }
  const value = resolvePointer(page.body, total.pointer);
  if (isMissing(value)) throw new PointerError(total.pointer, 'the body has no such field');
  if (typeof value !== 'number')
    throw new PointerError(total.pointer, `expected a number, found ${kind(value)}`);
  return value;
}

/** A body field; `null` for null, `""`, or (when optional) a missing field. */
function field(body: unknown, options: BodyFieldOptions): unknown {
  const value = resolvePointer(body, options.pointer);
  if (isMissing(value)) {
    if (options.optional) return null;
    throw new PointerError(options.pointer, 'the body has no such field');
  }
  return value === '' ? null : value;
}

export function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A `Link` header that is not one (RFC 8288); the source adds the resource and page URL. */
export class LinkHeaderError extends Error {}

/**
 * `<url>; rel="next", <url>; rel="last"` → `{ next: url, last: url }` (RFC 8288, with
 * http-link-header: quoted parameters may hold `,` and `;`, such as a `title="Page 2, newest
 * first"` before the rel, which a hand-written split had cut the link at, ending the resource
 * after its first page). A header that is no Link is a {@link LinkHeaderError}: taken for no
 * next link, it would end the resource silently too.
 */
export function parseLink(header: string | null): Record<string, string> {
  const links: Record<string, string> = {};
  if (!header) return links;
  let refs: LinkHeader.Reference[];
  try {
    refs = LinkHeader.parse(header).refs;
  } catch (error) {
    throw new LinkHeaderError(
      `its Link header is not one RFC 8288 can read (${(error as Error).message})`,
    );
  }
  for (const ref of refs) links[ref.rel.toLowerCase()] ??= ref.uri;
  return links;
}
