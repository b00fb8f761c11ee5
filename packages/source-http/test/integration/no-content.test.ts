/**
 * `204 No Content` for an empty list: APIs answer so for an empty collection (GitHub's stats of
 * an empty repository) or a page past the last one. It has no body to parse, and failed the
 * unit as "not JSON": it is no records and the end of the resource, whatever the pagination.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bodyCursor,
  type HttpSourceOptions,
  linkHeader,
  nextUrl,
  offsetLimit,
  type Paginator,
  pageNumber,
} from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const paginators: [string, () => Paginator][] = [
  ['linkHeader', () => linkHeader()],
  ['nextUrl', () => nextUrl({ pointer: '/next' })],
  ['bodyCursor', () => bodyCursor({ pointer: '/cursor', param: 'cursor' })],
  ['offsetLimit', () => offsetLimit({ limit: 2 })],
  ['offsetLimit with a total', () => offsetLimit({ limit: 2, total: { pointer: '/total' } })],
  ['pageNumber', () => pageNumber({})],
  [
    'pageNumber with a size and total',
    () => pageNumber({ size: { param: 'per_page', value: 2 }, total: { pointer: '/total' } }),
  ],
];

describe('204 No Content', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  /** Pages before the 204 say, in every way a paginator reads, that another page follows. */
  const script = (pagesBefore204: number) => {
    api.handler = (_request, response, n) => {
      if (n > pagesBefore204) {
        response.writeHead(204);
        response.end();
        return;
      }
      json(
        response,
        {
          data: [{ id: 2 * n - 1 }, { id: 2 * n }],
          next: `/items?p=${n + 1}`,
          cursor: `c${n + 1}`,
          total: 100,
        },
        200,
        { link: `</items?p=${n + 1}>; rel="next"` },
      );
    };
  };
  const options = (paginator: Paginator): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 0,
    paginator,
    resources: [{ name: 'items', path: '/items', records: '/data' }],
  });

  for (const [name, paginator] of paginators) {
    it(`${name}: a 204 for the first page is an empty resource, completed`, async () => {
      script(0);
      const { records, result, run } = await collect(options(paginator()));
      expect(run.unit('items')?.error).toBeNull();
      expect(result).toMatchObject({ failed: 0, completed: 1 });
      expect(records).toEqual([]);
      expect(api.seen).toHaveLength(1);
    });

    it(`${name}: a 204 after a full page ends the resource there`, async () => {
      script(1);
      const { records, result, run } = await collect(options(paginator()));
      expect(run.unit('items')?.error).toBeNull();
      expect(result).toMatchObject({ failed: 0, completed: 1 });
      expect(records.map((r) => r.data)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(run.unit('items')?.cursor).toEqual({ next: null });
      expect(api.seen).toHaveLength(2);
    });
  }
});
