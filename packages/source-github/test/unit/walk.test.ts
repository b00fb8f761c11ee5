import { describe, expect, it } from 'vitest';
import type { WalkCursor } from '../../src/cursor.js';
import { type GithubObject, listSpec, reviewsSpec } from '../../src/endpoints.js';
import type { GetResult, Requester } from '../../src/requester.js';
import { type WalkPage, walk } from '../../src/walk.js';

const item = (id: number, day: number): GithubObject => ({
  id,
  updated_at: `2024-01-${String(day).padStart(2, '0')}T00:00:00Z`,
});

/** A requester that answers from a map of URL to result, and remembers what was asked. */
function fakeRequester(pages: Record<string, GetResult>) {
  const asked: Array<{ url: string; etag: string | null }> = [];
  const requester = {
    async get(url: string, options: { etag?: string | null }) {
      asked.push({ url, etag: options.etag ?? null });
      const result = pages[url];
      if (!result) throw new Error(`unexpected request ${url}`);
      return result;
    },
  } as unknown as Requester;
  return { requester, asked };
}

const ok = (
  url: string,
  data: GithubObject[],
  next: string | null = null,
  etag = `"${url}"`,
): GetResult => ({
  status: 'ok',
  request: `GET ${url}`,
  url,
  movedFrom: null,
  data,
  next,
  etag,
  rateLimit: { remaining: 10, limit: 60 },
});

async function pages(iterable: AsyncIterable<WalkPage>): Promise<WalkPage[]> {
  const all: WalkPage[] = [];
  for await (const page of iterable) all.push(page);
  return all;
}

const context = (requester: Requester) => ({
  requester,
  signal: new AbortController().signal,
  perPage: 2,
  since: null,
  onMoved: async () => {},
});

const spec = listSpec('pulls', 'acme/api');
const first = '/repos/acme/api/pulls?state=all&sort=updated&direction=desc&per_page=2';

/**
 * The cursor stored after a walk of https://h/p1 (ETag "e1") that ended: watermark Jan 9, item 5
 * at the edge; `changes` override fields.
 */
const storedCursor = (changes: Partial<WalkCursor> = {}): WalkCursor => ({
  next: null,
  first: 'https://h/p1',
  etag: '"e1"',
  since: '2024-01-09T00:00:00Z',
  edge: [5],
  seen: [],
  stopAt: null,
  ...changes,
});

describe('walk', () => {
  it('follows Link URLs as given and does not deliver an item pushed onto the next page twice', async () => {
    const { requester, asked } = fakeRequester({
      [first]: ok(
        `https://h${first}`,
        [item(5, 9), item(4, 8)],
        'https://h/repositories/1/pulls?page=2',
      ),
      'https://h/repositories/1/pulls?page=2': ok('https://h/repositories/1/pulls?page=2', [
        item(4, 8),
        item(3, 7),
      ]),
    });
    const result = await pages(walk(spec, null, context(requester)));
    expect(result.map((p) => p.items.map((i) => i['id']))).toEqual([[5, 4], [3]]);
    expect(asked.map((a) => a.url)).toEqual([first, 'https://h/repositories/1/pulls?page=2']);
    expect(result[1]?.cursor).toMatchObject({
      next: null,
      first: `https://h${first}`,
      etag: `"https://h${first}"`,
      since: '2024-01-09T00:00:00Z',
      edge: [5],
      seen: [4, 3],
    });
  });

  it('resumes from the stored next URL and skips what the last stored page held', async () => {
    const cursor = storedCursor({ next: 'https://h/p2', seen: [5, 4] });
    const { requester, asked } = fakeRequester({
      'https://h/p2': ok('https://h/p2', [item(4, 8), item(3, 7)]),
    });
    const result = await pages(walk(spec, cursor, context(requester)));
    expect(asked).toEqual([{ url: 'https://h/p2', etag: null }]);
    expect(result[0]?.items.map((i) => i['id'])).toEqual([3]);
    expect(result[0]?.cursor).toMatchObject({
      etag: '"e1"',
      first: 'https://h/p1',
      since: '2024-01-09T00:00:00Z',
    });
  });

  it('reads nothing for a walk that ended, unless a refresh was asked for', async () => {
    const ended = storedCursor();
    const { requester, asked } = fakeRequester({});
    expect(await pages(walk(spec, ended, context(requester)))).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('on refresh sends If-None-Match; 304 yields one empty page that clears the refresh mark', async () => {
    const cursor = storedCursor({ refresh: true });
    const { requester, asked } = fakeRequester({
      'https://h/p1': { status: 'not-modified', rateLimit: undefined },
    });
    const result = await pages(walk(spec, cursor, context(requester)));
    expect(asked).toEqual([{ url: 'https://h/p1', etag: '"e1"' }]);
    expect(result).toHaveLength(1);
    expect(result[0]?.items).toEqual([]);
    const { refresh: _refresh, ...unchanged } = cursor;
    expect(result[0]?.cursor).toEqual(unchanged);
  });

  it('on refresh delivers what is newer than the watermark and stops at the first older item', async () => {
    const cursor = storedCursor({ refresh: true });
    const { requester, asked } = fakeRequester({
      'https://h/p1': ok('https://h/p1', [item(7, 12), item(6, 9)], 'https://h/p2', '"e2"'),
      'https://h/p2': ok('https://h/p2', [item(5, 9), item(4, 8)], 'https://h/p3'),
    });
    const result = await pages(walk(spec, cursor, context(requester)));
    // 6 has the watermark's time but was not delivered (not in the edge): it is new
    expect(result.flatMap((p) => p.items.map((i) => i['id']))).toEqual([7, 6]);
    expect(asked.map((a) => a.url)).toEqual(['https://h/p1', 'https://h/p2']);
    expect(result.at(-1)?.cursor).toMatchObject({
      next: null,
      etag: '"e2"',
      since: '2024-01-12T00:00:00Z',
    });
  });

  it('skips items older than since on a list it cannot stop early (not newest first)', async () => {
    const reviews = reviewsSpec('acme/api', 3);
    const url = '/repos/acme/api/pulls/3/reviews?per_page=2';
    const review = (id: number, day: number) => ({ id, submitted_at: `2024-01-0${day}T00:00:00Z` });
    const { requester } = fakeRequester({
      [url]: ok(url, [review(1, 1), review(2, 5), review(3, 2)]),
    });
    const result = await pages(
      walk(reviews, null, { ...context(requester), since: '2024-01-02T00:00:00Z' }),
    );
    expect(result[0]?.items.map((i) => i['id'])).toEqual([2, 3]);
  });
});
