/**
 * APIs cap the page size they are asked for (GitHub's per_page at 100, Stripe's limit at 100),
 * silently: ask for 5, get 2. With offsets and a stated total, a page shorter than the limit is
 * then not the last page, and taking it for one lost every record after it without a word.
 * Numbered pages lost them too: page × size asked passed the total before the records did.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HttpSourceOptions, offsetLimit, pageNumber } from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const TOTAL = 7;
const CAP = 2;

describe('an API that caps the limit', () => {
  let api: Scripted;
  beforeEach(async () => {
    // Records 1..7; at most CAP a page, whatever the limit asked; the total in a header.
    api = await startScripted((request, response) => {
      const query = new URL(request.url ?? '/', 'http://x').searchParams;
      const offset = Number(query.get('offset') ?? 0);
      const limit = Math.min(Number(query.get('limit') ?? 10), CAP);
      const ids = [];
      for (let id = offset + 1; id <= Math.min(offset + limit, TOTAL); id++) ids.push({ id });
      json(response, ids, 200, { 'x-total-count': String(TOTAL) });
    });
  });
  afterEach(() => api.close());

  const ids = async (over: Partial<HttpSourceOptions>) => {
    const { records, result } = await collect({
      baseUrl: api.url,
      retries: 0,
      resources: [{ name: 'items', path: '/items' }],
      ...over,
    });
    expect(result.failed).toBe(0);
    return records.map((r) => (r.data as { id: number }).id);
  };

  it('with a total: reads on past the short pages, to the total, and no further', async () => {
    const got = await ids({
      paginator: offsetLimit({ limit: 5, total: { header: 'x-total-count' } }),
    });
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(api.seen.map((s) => s.url)).toEqual([
      '/items?offset=0&limit=5',
      '/items?offset=2&limit=5',
      '/items?offset=4&limit=5',
      '/items?offset=6&limit=5',
    ]);
  });

  it('with a total the data has shrunk below: ends on the empty page', async () => {
    api.handler = (_request, response) =>
      json(response, api.seen.length === 1 ? [{ id: 1 }] : [], 200, { 'x-total-count': '50' });
    const got = await ids({
      paginator: offsetLimit({ limit: 5, total: { header: 'x-total-count' } }),
    });
    expect(got).toEqual([1]);
    expect(api.seen).toHaveLength(2);
  });
});

describe('an API that caps the page size of numbered pages', () => {
  let api: Scripted;
  /** The most records a page holds, whatever size was asked (Django REST's max_page_size). */
  let cap = CAP;
  beforeEach(async () => {
    cap = CAP;
    // Records 1..7 in pages of min(per_page, cap); a page past the last is a 404, as Django
    // REST framework answers ("Invalid page"), so a source that asks one too many fails.
    api = await startScripted((request, response) => {
      const query = new URL(request.url ?? '/', 'http://x').searchParams;
      const page = Number(query.get('page') ?? 1);
      const size = Math.min(Number(query.get('per_page') ?? 10), cap);
      const ids = [];
      for (let id = (page - 1) * size + 1; id <= Math.min(page * size, TOTAL); id++)
        ids.push({ id });
      if (ids.length === 0 && page > 1) json(response, { detail: 'Invalid page.' }, 404);
      else json(response, { count: TOTAL, results: ids });
    });
  });
  afterEach(() => api.close());

  const ids = async () => {
    const { records, run } = await collect({
      baseUrl: api.url,
      retries: 0,
      resources: [{ name: 'items', path: '/items', records: '/results' }],
      paginator: pageNumber({
        size: { param: 'per_page', value: 5 },
        total: { pointer: '/count' },
      }),
    });
    expect(run.unit('items')?.error).toBeNull();
    return records.map((r) => (r.data as { id: number }).id);
  };

  it('asked 5 a page and given 2: reads every page to the total', async () => {
    expect(await ids()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Asked with the size the API serves once it shows it caps: page 2 of 2 is records 3 and 4.
    expect(api.seen.map((s) => s.url)).toEqual([
      '/items?page=1&per_page=5',
      '/items?page=2&per_page=2',
      '/items?page=3&per_page=2',
      '/items?page=4&per_page=2',
    ]);
  });

  it('not capped: the short last page ends it, with no request past it', async () => {
    cap = 100;
    expect(await ids()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(api.seen.map((s) => s.url)).toEqual([
      '/items?page=1&per_page=5',
      '/items?page=2&per_page=5',
    ]);
  });
});
