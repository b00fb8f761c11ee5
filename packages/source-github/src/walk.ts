import type { RateLimitInfo } from '@checkpointkit/core';
import type { WalkCursor } from './cursor.js';
import type { GithubObject, ListSpec } from './endpoints.js';
import { itemsOf, validTime } from './items.js';
import { sameUrl } from './links.js';
import type { Requester, Served } from './requester.js';

export interface WalkContext {
  requester: Requester;
  signal: AbortSignal;
  perPage: number;
  /** The `since` option: nothing updated before it is delivered. */
  since: string | null;
  /** Told when the first page of a walk was served from another URL (a renamed repository). */
  onMoved(from: string, to: string): Promise<void>;
}

export interface WalkPage {
  /** The page's items that were not delivered before, in GitHub's order. */
  items: GithubObject[];
  cursor: WalkCursor;
  rateLimit: RateLimitInfo | undefined;
}

/** The URL of a list's first page: its parameters, then `since` and `per_page`. */
export function firstPageUrl(spec: ListSpec, perPage: number, since: string | null): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(spec.params)) query.set(name, String(value));
  if (since && spec.acceptsSince) query.set('since', since);
  if (spec.paginated !== false) query.set('per_page', String(perPage));
  const text = query.toString();
  return text ? `${spec.path}?${text}` : spec.path;
}

const time = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN);
const later = (a: string | null, b: string | null) =>
  a === null || (b !== null && time(b) > time(a)) ? b : a;

/**
 * Walks a list page by page from where the cursor stands, following GitHub's Link URLs as given.
 * With no cursor it starts at the first page. With a cursor whose walk ended (`next` null) it
 * refreshes: it re-reads the first page with If-None-Match (304: nothing changed, nothing
 * yielded) and, on a newest-first list, stops at the first item older than the last watermark.
 * Items seen on the previous page are not delivered again (they were pushed down by an update).
 * Yields after every page, empty ones included, so the cursor moves with each request.
 */
export async function* walk(
  spec: ListSpec,
  cursor: WalkCursor | null,
  context: WalkContext,
  options: { floor?: string | null } = {},
): AsyncGenerator<WalkPage> {
  if (cursor !== null && cursor.next === null && !cursor.refresh) return; // the walk ended
  const refresh = cursor !== null && cursor.next === null;
  let state: WalkCursor | null = refresh
    ? { ...withoutRefresh(cursor), seen: [], stopAt: cursor.since }
    : cursor;
  let url =
    state === null
      ? firstPageUrl(spec, context.perPage, context.since)
      : (state.next ?? state.first);
  let etag = refresh ? (state?.etag ?? null) : null;
  let firstPage = state === null || refresh;
  const floor = [context.since, state?.stopAt ?? null, options.floor ?? null].reduce(later, null);
  const edge = new Set(refresh ? cursor.edge : []);
  const delivered = new Set(state?.seen ?? []);
  // Pages this walk read (and the first one): a Link back to one of them is a circle.
  const read = new Set(state ? [sameUrl(state.first)] : []);

  while (!context.signal.aborted) {
    const result = await context.requester.get(url, {
      etag,
      signal: context.signal,
      paginated: spec.paginated !== false,
      readBefore: (next) => read.has(next),
    });
    if (result.status === 'not-modified' && state) {
      // Unchanged since the last walk: record that the refresh is done, deliver nothing.
      yield { items: [], cursor: withoutRefresh(cursor ?? state), rateLimit: result.rateLimit };
      return;
    }
    if (result.status !== 'ok') return; // 409: an empty repository
    if (firstPage && result.movedFrom) await context.onMoved(result.movedFrom, result.url);
    read.add(sameUrl(result.url));
    const data = itemsOf(spec, result.data, result.request);
    const items: GithubObject[] = [];
    let ended = false;
    let since = state?.since ?? null;
    let edgeIds = state?.edge ?? [];
    for (const item of data) {
      const id = spec.idOf(item);
      const at = validTime(spec.timeOf(item));
      if (delivered.has(id)) continue;
      delivered.add(id);
      if (floor !== null && at !== null && time(at) < time(floor)) {
        if (spec.newestFirst) {
          ended = true;
          break;
        }
        continue;
      }
      if (state?.stopAt && at !== null && time(at) === time(state.stopAt) && edge.has(id)) continue;
      items.push(item);
      if (at !== null && (since === null || time(at) > time(since))) {
        since = at;
        edgeIds = [id];
      } else if (at !== null && time(at) === time(since)) {
        edgeIds = [...edgeIds, id];
      }
    }
    state = {
      next: ended ? null : result.next,
      first: firstPage ? result.url : (state?.first ?? result.url),
      etag: firstPage ? result.etag : (state?.etag ?? null),
      since,
      edge: edgeIds,
      seen: data.map((item) => spec.idOf(item)),
      stopAt: state?.stopAt ?? null,
    };
    yield { items, cursor: state, rateLimit: result.rateLimit };
    if (state.next === null) return;
    url = state.next;
    etag = null;
    firstPage = false;
  }
}

function withoutRefresh(cursor: WalkCursor): WalkCursor {
  const { refresh: _refresh, ...rest } = cursor;
  return rest;
}

export type { Served };
