/**
 * A `200` with an empty body where a page of JSON was expected: a worker that died after its
 * headers, a proxy's or a gateway's fault. It failed the unit for good as "the body is not JSON
 * ()", which said nothing of what happened and needed a reset; nor is it the end of the list
 * (a `204` or an empty page is), which would end a list early without a word.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HttpEmptyBodyError,
  type HttpSourceOptions,
  httpSource,
  pageNumber,
} from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const SECRET = 'key_empty-body-0123456789';

describe('a 2xx with an empty body', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    auth: { type: 'query', name: 'api_key', value: SECRET },
    retries: 2,
    // Backoff within 1 ms: the retries are tried, not waited for.
    maxRetryDelay: 1,
    paginator: pageNumber({}),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });
  /** Empty answers for requests in `empty` (1-based), else pages 1 and 2, then an empty page. */
  const script = (empty: (n: number) => boolean, body = '') => {
    api.handler = (request, response, n) => {
      if (empty(n)) {
        response.writeHead(200, { 'content-type': 'application/json' });
        return void response.end(body);
      }
      const page = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('page'));
      json(response, { data: page <= 2 ? [{ id: page }] : [] });
    };
  };

  for (const [name, body] of [
    ['no bytes', ''],
    ['only whitespace', ' \r\n'],
  ]) {
    it(`${name}: tried again, then failed retryable, typed, naming the page without the key`, async () => {
      script(() => true, body);
      const { records, result, run } = await collect(options());
      expect(records).toEqual([]);
      expect(api.seen).toHaveLength(3);
      expect(result).toMatchObject({ failed: 1, completed: 0 });
      const error = run.unit('posts')?.error;
      expect(error?.retryable).toBe(true);
      expect(error?.message).toMatch(
        /page http:\/\/127\.0\.0\.1:\d+\/posts\?page=1.*: 200 with an empty body where a page of JSON was expected/,
      );
      expect(error?.message).not.toContain('not JSON');
      expect(JSON.stringify(run.unit('posts'))).not.toContain(SECRET);
    });
  }

  it('is an HttpEmptyBodyError, an HttpRequestError with the status', async () => {
    script(() => true);
    const source = httpSource(options({ retries: 0 }));
    const pages = source.read({ key: 'posts', cursor: null }, new AbortController().signal);
    const failure = await (async () => {
      for await (const _ of pages);
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HttpEmptyBodyError);
    expect(failure).toMatchObject({ name: 'HttpEmptyBodyError', status: 200, retryable: true });
    expect(String((failure as Error).message)).not.toContain(SECRET);
  });

  it('mid-list, then a page on the retry: nothing lost, the list read to its end', async () => {
    script((n) => n === 2);
    const { records, result } = await collect(options());
    expect(result).toMatchObject({ failed: 0, completed: 1 });
    expect(records.map((r) => r.data)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(api.seen.map((s) => new URL(s.url, 'http://x').searchParams.get('page'))).toEqual([
      '1',
      '2',
      '2',
      '3',
    ]);
  });
});
