/**
 * `pageNumber` against an API that states a total of records but not its page size, as Django
 * REST Framework does (`{"count": 7, "results": [...]}`, pages of its own size) and answers past
 * the last page with `404 {"detail":"Invalid page."}`. The list ended only on an empty page, so
 * such an API failed the unit after every record was read.
 */
import { memoryStore } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HttpSourceOptions, pageNumber } from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const COUNT = 7;
const SIZE = 3;

describe('pageNumber with a total and no page size', () => {
  let api: Scripted;
  /** Pages whose request gets a 500 instead (to stop a first run mid-list). */
  let failing: Set<number>;
  beforeEach(async () => {
    failing = new Set();
    // Django REST Framework's PageNumberPagination: 3 a page, 404 past the last page.
    api = await startScripted((request, response) => {
      const query = new URL(request.url ?? '/', 'http://x').searchParams;
      const page = Number(query.get('page') ?? 1);
      if (failing.has(page)) return void json(response, { detail: 'down' }, 500);
      if (!Number.isInteger(page) || page < 1 || (page - 1) * SIZE >= COUNT)
        return void json(response, { detail: 'Invalid page.' }, 404);
      const results = [];
      for (let id = (page - 1) * SIZE + 1; id <= Math.min(page * SIZE, COUNT); id++)
        results.push({ id });
      json(response, { count: COUNT, results }, 200, { 'x-total-count': String(COUNT) });
    });
  });
  afterEach(() => api.close());

  const options = (total: 'body' | 'header' = 'body'): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 0,
    paginator: pageNumber({
      total: total === 'body' ? { pointer: '/count' } : { header: 'x-total-count' },
    }),
    resources: [{ name: 'items', path: '/items', records: '/results' }],
  });
  const ids = (records: { data: unknown }[]) => records.map((r) => (r.data as { id: number }).id);

  for (const total of ['body', 'header'] as const) {
    it(`ends at the total in the ${total}, never asking past the last page`, async () => {
      const { records, result, run } = await collect(options(total));
      expect(run.unit('items')?.error).toBeNull();
      expect(result).toMatchObject({ failed: 0, completed: 1 });
      expect(ids(records)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(api.seen.map((s) => s.url)).toEqual([
        '/items?page=1',
        '/items?page=2',
        '/items?page=3',
      ]);
      expect(run.unit('items')?.cursor).toEqual({ next: null });
    });
  }

  it('resumed on the short last page: the 404 after it ends the list', async () => {
    const store = memoryStore();
    failing.add(3);
    const first = await collect(options(), store);
    expect(first.run.unit('items')?.error?.retryable).toBe(true);
    await first.run.close();
    failing.clear();
    api.seen.length = 0;
    // A new source, as after a restart: nothing counted the first two pages.
    const { records, result, run } = await collect(options(), store);
    expect(run.unit('items')?.error).toBeNull();
    expect(result).toMatchObject({ failed: 0, completed: 1 });
    expect(ids([...first.records, ...records])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(api.seen.map((s) => s.url)).toEqual(['/items?page=3', '/items?page=4']);
    expect(run.unit('items')?.cursor).toEqual({ next: null });
  });

  it('resumed on a full page: counts from it and ends at the total', async () => {
    const store = memoryStore();
    failing.add(2);
    await (await collect(options(), store)).run.close();
    failing.clear();
    api.seen.length = 0;
    const { records, result } = await collect(options(), store);
    expect(result).toMatchObject({ failed: 0, completed: 1 });
    expect(ids(records)).toEqual([4, 5, 6, 7]);
    expect(api.seen.map((s) => s.url)).toEqual(['/items?page=2', '/items?page=3']);
  });

  it('a 404 before the total is reached still fails the unit, not retryable', async () => {
    // Page 2 is gone while the total says 7: not the end of the list.
    api.handler = (request, response) => {
      if (request.url?.includes('page=1'))
        return void json(response, { count: COUNT, results: [{ id: 1 }, { id: 2 }, { id: 3 }] });
      json(response, { detail: 'Invalid page.' }, 404);
    };
    const { records, result, run } = await collect(options());
    expect(result).toMatchObject({ failed: 1, completed: 0 });
    expect(ids(records)).toEqual([1, 2, 3]);
    expect(run.unit('items')?.error).toMatchObject({ retryable: false });
    expect(run.unit('items')?.error?.message).toMatch(/404 .*Invalid page/);
  });

  it('resumed: a 404 after a page that cannot have been the last fails the unit', async () => {
    // Resumed on page 3, which has 3 of a total of 10: no page size of at least 3 ends the
    // list there (2 pages of 3.5), so page 4 must exist.
    const store = memoryStore();
    failing.add(3);
    await (await collect(options(), store)).run.close();
    failing.clear();
    api.handler = (request, response) => {
      if (request.url?.includes('page=3'))
        return void json(response, { count: 10, results: [{ id: 7 }, { id: 8 }, { id: 9 }] });
      json(response, { detail: 'Invalid page.' }, 404);
    };
    const { result, run } = await collect(options(), store);
    expect(result).toMatchObject({ failed: 1, completed: 0 });
    expect(run.unit('items')?.error?.message).toMatch(/404/);
  });
});
