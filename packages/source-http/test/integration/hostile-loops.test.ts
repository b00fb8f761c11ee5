/**
 * Pagination that never ends: links that go round (A→B→A), a next link that only reorders its
 * query, a body that changes (a request id) while the records do not, empty pages that link to
 * themselves, and paginator options that can never reach a short page. Each must end the unit
 * with an error that names the page, before a record is written twice; none may spin.
 */
import { memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bodyCursor,
  type HttpRecord,
  HttpSourceConfigError,
  type HttpSourceOptions,
  httpSource,
  linkHeader,
  nextUrl,
  offsetLimit,
  pageNumber,
} from '../../src/index.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

/** More requests than any case needs: the source is looping, and the run is stopped. */
const RUNAWAY = 40;

async function collectBounded(api: Scripted, options: HttpSourceOptions) {
  const source = httpSource(options);
  const run = await openRun({ id: 'hostile-loops', store: memoryStore(), signals: false });
  const stop = new AbortController();
  const records: HttpRecord[] = [];
  const guard = api.handler;
  api.handler = (request, response, n) => {
    if (n > RUNAWAY) stop.abort(new Error('the source is looping'));
    guard(request, response, n);
  };
  const result = await pipeline({
    run,
    source,
    signal: stop.signal,
    sink: { write: (items) => void records.push(...items) },
  });
  const ids = records.map((r) => (r.data as { id: unknown }).id);
  return {
    ids,
    result,
    error: run.unit('posts')?.error?.message ?? '',
    looped: stop.signal.aborted,
  };
}

describe('pagination that goes round', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 0,
    paginator: linkHeader(),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });

  /** Pages A and B that link to each other; `query` is how B writes its link back to A. */
  const aToBToA = (backToA: string) => {
    api.handler = (request, response) => {
      const onB = request.url?.startsWith('/b');
      json(response, { data: onB ? [{ id: 'b' }] : [{ id: 'a' }] }, 200, {
        link: onB ? `<${api.url}${backToA}>; rel="next"` : `<${api.url}/b>; rel="next"`,
      });
    };
  };

  it('A→B→A: the unit fails at the return to A, and A is written once', async () => {
    aToBToA('/posts');
    const { ids, result, error, looped } = await collectBounded(api, options());
    expect(looped).toBe(false);
    expect(ids).toEqual(['a', 'b']);
    expect(result.failed).toBe(1);
    expect(error).toMatch(
      /page http:\/\/127\.0\.0\.1:\d+\/posts: the API answered with the same records as an earlier page \(http:\/\/127\.0\.0\.1:\d+\/posts\)/,
    );
    expect(api.seen.map((s) => s.url)).toEqual(['/posts', '/b', '/posts']);
  });

  it('A?a&b → B → A?b&a: a link that only reorders its query is the same page', async () => {
    aToBToA('/posts?b=2&a=1');
    const { ids, result, error, looped } = await collectBounded(
      api,
      options({
        resources: [{ name: 'posts', path: '/posts', params: { a: 1, b: 2 }, records: '/data' }],
      }),
    );
    expect(looped).toBe(false);
    expect(ids).toEqual(['a', 'b']);
    expect(result.failed).toBe(1);
    expect(error).toContain('the same records as an earlier page');
  });

  it('an ignored cursor whose body changes on every request (a request id): fails at the repeat', async () => {
    let request_id = 0;
    api.handler = (_request, response) => {
      request_id += 1;
      json(response, { data: [{ id: 1 }, { id: 2 }], meta: { request_id, next: 'c2' } });
    };
    const { ids, result, error, looped } = await collectBounded(
      api,
      options({ paginator: bodyCursor({ pointer: '/meta/next', param: 'after' }) }),
    );
    expect(looped).toBe(false);
    expect(ids).toEqual([1, 2]);
    expect(result.failed).toBe(1);
    expect(error).toContain('the same page as the one before it');
    expect(error).toContain('parameter "after"');
  });

  it('an empty page that links to itself (the same cursor for ever): fails, does not spin', async () => {
    api.handler = (request, response) => {
      const url = new URL(request.url ?? '/', api.url);
      if (!url.searchParams.has('cursor'))
        return json(response, { data: [{ id: 1 }], next: 'same' });
      json(response, { data: [], next: 'same', served_at: Date.now() });
    };
    const { ids, result, error, looped } = await collectBounded(
      api,
      options({ paginator: bodyCursor({ pointer: '/next', param: 'cursor' }) }),
    );
    expect(looped).toBe(false);
    expect(ids).toEqual([1]);
    expect(result.failed).toBe(1);
    expect(error).toMatch(/page http:\/\/127\.0\.0\.1:\d+\/posts\?cursor=same: .*empty page/);
    expect(api.seen).toHaveLength(2);
  });

  it('empty pages A→B→A: fails at the link back to A', async () => {
    api.handler = (request, response) => {
      const onB = request.url?.startsWith('/b');
      json(response, { data: [], next: onB ? '/posts' : '/b' });
    };
    const { result, error, looped } = await collectBounded(
      api,
      options({ paginator: nextUrl({ pointer: '/next' }) }),
    );
    expect(looped).toBe(false);
    expect(result.failed).toBe(1);
    // B is empty and links back to A, an empty page already read: A is not asked again.
    expect(error).toMatch(/page http:\/\/127\.0\.0\.1:\d+\/b: .*empty page/);
    expect(api.seen.map((s) => s.url)).toEqual(['/posts', '/b']);
  });

  it('empty pages at different URLs go on (a sparse, filtered listing)', async () => {
    api.handler = (request, response) => {
      const page = Number(new URL(request.url ?? '/', api.url).searchParams.get('page') ?? 1);
      json(response, {
        data: page === 4 ? [{ id: 4 }] : [],
        next: page < 4 ? `/posts?page=${page + 1}` : null,
      });
    };
    const { ids, result } = await collectBounded(
      api,
      options({ paginator: nextUrl({ pointer: '/next' }) }),
    );
    expect(result.failed).toBe(0);
    expect(ids).toEqual([4]);
    expect(api.seen).toHaveLength(4);
  });
});

describe('paginator options that cannot end', () => {
  const refuses = (make: () => unknown, field: string) => {
    expect(make).toThrow(HttpSourceConfigError);
    expect(make).toThrow(new RegExp(`option "${field.replace(/[.[\]]/g, '\\$&')}" must be`));
  };

  for (const limit of [0, -5, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number])
    it(`offsetLimit refuses a limit of ${String(limit)} (no page is ever short of it)`, () => {
      refuses(() => offsetLimit({ limit }), 'offsetLimit.limit');
    });

  it('pageNumber refuses a start or size that is not a whole number', () => {
    refuses(() => pageNumber({ start: Number.NaN }), 'pageNumber.start');
    refuses(() => pageNumber({ start: -1 }), 'pageNumber.start');
    refuses(() => pageNumber({ size: { param: 'per_page', value: 0 } }), 'pageNumber.size.value');
  });

  it('paginators refuse a parameter name or pointer that cannot work', () => {
    refuses(() => bodyCursor({ pointer: 'meta/next', param: 'cursor' }), 'bodyCursor.pointer');
    refuses(() => bodyCursor({ pointer: '/meta/next', param: '' }), 'bodyCursor.param');
    refuses(() => nextUrl({ pointer: 'next' }), 'nextUrl.pointer');
  });
});
