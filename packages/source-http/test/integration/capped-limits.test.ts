/**
 * APIs cap the page size they are asked for (GitHub's per_page at 100, Stripe's limit at 100),
 * silently: ask for 5, get 2. With offsets and a stated total, a page shorter than the limit is
 * then not the last page, and taking it for one lost every record after it without a word.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HttpSourceOptions, offsetLimit } from '../../src/index.js';
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
