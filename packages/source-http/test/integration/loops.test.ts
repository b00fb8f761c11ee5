/**
 * A paginator's parameter the API does not read is the likeliest mistake in a config: the API
 * ignores it and answers with its first page again, for ever. Each page is acknowledged and its
 * records written, so the job would copy the same records until someone stops it. The source
 * must notice the repeat, fail the unit before handing the repeated page over, and say which
 * parameter to check.
 */
import { memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bodyCursor,
  type HttpRecord,
  type HttpSourceOptions,
  httpSource,
  linkHeader,
  offsetLimit,
  type Paginator,
  pageNumber,
} from '../../src/index.js';
import { type CursorApi, json, startCursorApi } from '../servers/cursor-api.js';

/** More records than the API holds: the source is looping. */
const RUNAWAY = 50;

/** Runs a source, stopping it (and so failing the test) once it delivered a runaway count. */
async function collectBounded(options: HttpSourceOptions) {
  const source = httpSource(options);
  const run = await openRun({ id: 'loops', store: memoryStore(), signals: false });
  const stop = new AbortController();
  const records: HttpRecord[] = [];
  const result = await pipeline({
    run,
    source,
    signal: stop.signal,
    sink: {
      write: (items) => {
        records.push(...items);
        if (records.length > RUNAWAY) stop.abort(new Error('the source is looping'));
      },
    },
  });
  return { records, result, error: run.unit('posts')?.error?.message ?? '' };
}

describe('a paginator parameter the API ignores', () => {
  let api: CursorApi;
  beforeEach(async () => {
    // 9 posts, 3 a page; the API reads only `cursor` and ignores every other parameter.
    api = await startCursorApi({ posts: 9, size: 3 });
  });
  afterEach(() => api.close());

  const resources = [{ name: 'posts', path: '/posts', records: '/data' }];
  const cases: [string, Paginator, RegExp][] = [
    [
      'a body cursor sent under the wrong name',
      bodyCursor({ pointer: '/meta/next_cursor', param: 'after' }),
      /parameter "after"/,
    ],
    ['a page number the API does not read', pageNumber({ param: 'pg' }), /parameter "pg"/],
    [
      'an offset the API does not read',
      offsetLimit({ limit: 3, offsetParam: 'skip', limitParam: 'size' }),
      /parameter "skip"/,
    ],
  ];

  for (const [name, paginator, names] of cases) {
    it(`${name}: the unit fails at the repeat, and its records are not written twice`, async () => {
      const { records, result, error } = await collectBounded({
        baseUrl: api.url,
        retries: 0,
        resources,
        paginator,
      });
      expect(records.length, 'records written before the loop was noticed').toBe(3);
      expect(result.failed).toBe(1);
      expect(error).toMatch(
        /resource "posts" \(unit "posts"\), page http:\/\/127\.0\.0\.1:\d+\/posts\?\S+: the API answered with the same page as the one before it/,
      );
      expect(error).toMatch(names);
      // Stopped at the first repeat: two requests, not fifty.
      expect(api.requests).toHaveLength(2);
    });
  }

  it('a Link header that points at the page it came with', async () => {
    api.script = (request, response) => {
      json(response, { data: [{ id: 1 }, { id: 2 }] }, 200, {
        link: `<${api.url}${request.url}>; rel="next"`,
      });
      return true;
    };
    const { records, result, error } = await collectBounded({
      baseUrl: api.url,
      retries: 0,
      resources,
      paginator: linkHeader(),
    });
    expect(records).toHaveLength(2);
    expect(result.failed).toBe(1);
    expect(error).toContain('the same page as the one before it');
  });

  it('pages that differ go on, even from the same URL (a queue that hands out new records)', async () => {
    let handed = 0;
    api.script = (request, response) => {
      handed += 1;
      json(response, { data: handed <= 4 ? [{ id: handed }] : [] }, 200, {
        link: handed <= 4 ? `<${api.url}${request.url}>; rel="next"` : '',
      });
      return true;
    };
    const { records, result } = await collectBounded({
      baseUrl: api.url,
      retries: 0,
      resources,
      paginator: linkHeader(),
    });
    expect(records.map((r) => (r.data as { id: number }).id)).toEqual([1, 2, 3, 4]);
    expect(result.failed).toBe(0);
  });
});
