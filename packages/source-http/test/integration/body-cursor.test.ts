import {
  AuthenticationError,
  memoryStore,
  openRun,
  pipeline,
  type SaveContext,
} from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bodyCursor,
  HttpAuthError,
  HttpBodyError,
  type HttpSourceOptions,
  httpSource,
} from '../../src/index.js';
import { collect } from '../helpers.js';
import { type CursorApi, json, startCursorApi } from '../servers/cursor-api.js';

const SECRET = 'sk_live_do-not-leak-0123456789';

describe('a cursor in the body (our own API)', () => {
  let api: CursorApi;
  beforeEach(async () => {
    api = await startCursorApi({ posts: 7, size: 3 });
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    auth: { type: 'query', name: 'api_key', value: SECRET },
    retries: 0,
    paginator: bodyCursor({ pointer: '/meta/next_cursor', param: 'cursor' }),
    resources: [
      {
        name: 'posts',
        path: '/posts',
        records: '/data',
        children: [{ name: 'comments', path: '/posts/{id}/comments', records: '/data' }],
      },
    ],
    ...over,
  });

  it('reads every page and fans out to one child unit per parent record', async () => {
    const { records, result, run } = await collect(options());
    expect(result.failed).toBe(0);
    expect(
      records.filter((r) => r.resource === 'posts').map((r) => (r.data as { id: number }).id),
    ).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(records.filter((r) => r.resource === 'comments')).toHaveLength(14);
    expect(Object.keys(run.checkpoint.units).sort()).toContain('comments/7');
    expect(result.completed).toBe(8);
    // 3 pages of posts, 7 of comments, and each request carried the key in the query.
    expect(api.requests).toHaveLength(10);
    for (const request of api.requests) expect(request.url).toContain(`api_key=${SECRET}`);
  });

  it('keeps the secret out of cursors and the config', async () => {
    const { run, source } = await collect(options());
    expect(JSON.stringify(run.checkpoint)).not.toContain(SECRET);
    expect(JSON.stringify(source.config)).not.toContain(SECRET);
    expect(run.unit('posts')?.cursor).toEqual({ next: null });
  });

  it('resumes at the saved cursor: the pages before it are not fetched again', async () => {
    const cursor = Buffer.from('3').toString('base64url');
    const { records } = await collect(
      options({ resources: [{ name: 'posts', path: '/posts', records: '/data' }] }),
      undefined,
    );
    expect(records).toHaveLength(7);
    api.requests.length = 0;
    // A second source, started from the cursor the first one saved after page 1.
    const { httpSource } = await import('../../src/index.js');
    const source = httpSource(
      options({ resources: [{ name: 'posts', path: '/posts', records: '/data' }] }),
    );
    const pages = [];
    for await (const page of source.read(
      { key: 'posts', cursor: { next: `${api.url}/posts?cursor=${cursor}` } },
      new AbortController().signal,
    ))
      pages.push(page);
    expect(pages.map((p) => p.items.length)).toEqual([3, 1]);
    expect(api.requests.map((r) => new URL(r.url, api.url).searchParams.get('cursor'))).toEqual([
      cursor,
      Buffer.from('6').toString('base64url'),
    ]);
  });

  it('feeds the IETF RateLimit headers to onRateLimit and into the pages', async () => {
    const seen: number[] = [];
    const reported: unknown[] = [];
    const strategy = {
      description: 'records rate limits',
      decide: (context: SaveContext) => {
        if (context.rateLimit) reported.push(context.rateLimit);
        return { save: true, reason: 'test' };
      },
    };
    await collect(
      options({ onRateLimit: (info) => seen.push(info.remaining) }),
      undefined,
      'rl',
      strategy,
    );
    // Only the posts pages carry the headers; comments come after them (one unit at a time).
    expect(seen).toEqual([99, 98, 97]);
    // The pipeline hands each page's state to the save strategy (what onRateLimit() reads).
    expect(reported.at(-1)).toMatchObject({ remaining: 97, limit: 100, resource: 'default' });
    expect(Date.parse((reported.at(-1) as { resetAt: string }).resetAt)).toBeGreaterThan(
      Date.now(),
    );
  });

  it('a body that is not JSON fails the unit with the resource, page URL and no secret', async () => {
    api.script = (request, response) => {
      if (!request.url?.includes('cursor=')) return false;
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>maintenance</html>');
      return true;
    };
    const { run, result } = await collect(
      options({ resources: [{ name: 'posts', path: '/posts', records: '/data' }] }),
    );
    expect(result.failed).toBe(1);
    const error = run.unit('posts')?.error?.message ?? '';
    expect(error).toContain('resource "posts"');
    // The page URL as the source keeps it: without the query credential at all.
    expect(error).toContain(`page ${api.url}/posts?cursor=`);
    expect(error).toContain('an HTML page ("maintenance") where JSON was expected');
    expect(error).not.toContain(SECRET);
    // The first page was saved: a new run would start at the page that failed.
    expect(run.unit('posts')?.done).toBe(3);
  });

  it('a records pointer that finds nothing names the pointer', async () => {
    const { run } = await collect(
      options({ resources: [{ name: 'posts', path: '/posts', records: '/items' }] }),
    );
    const error = run.unit('posts')?.error?.message ?? '';
    expect(error).toMatch(
      /resource "posts".*page http:\/\/127\.0\.0\.1:\d+\/posts, pointer "\/items": the body has no such field/,
    );
  });

  it('a cursor pointer that finds something else is an error, not the last page', async () => {
    const { run, records } = await collect(
      options({
        paginator: bodyCursor({ pointer: '/meta', param: 'cursor' }),
        resources: [{ name: 'posts', path: '/posts', records: '/data' }],
      }),
    );
    expect(records).toHaveLength(0);
    expect(run.unit('posts')?.error?.message).toContain(
      'pointer "/meta": expected a cursor (string or number), found an object',
    );
    const missing = await collect(
      options({
        paginator: bodyCursor({ pointer: '/meta/next', param: 'cursor' }),
        resources: [{ name: 'posts', path: '/posts', records: '/data' }],
      }),
    );
    expect(missing.run.unit('posts')?.error?.message).toContain(
      'pointer "/meta/next": the body has no such field',
    );
  });

  it('a record without the child field names the resource and the field', async () => {
    const { run } = await collect(
      options({
        resources: [
          {
            name: 'posts',
            path: '/posts',
            records: '/data',
            children: [{ name: 'comments', path: '/posts/{slug}/comments', records: '/data' }],
          },
        ],
      }),
    );
    expect(run.unit('posts')?.error?.message).toContain(
      'pointer "/data/*/slug": child "comments" needs a string or number, found nothing',
    );
  });

  it('a child field of ".", ".." or "" is refused: it would not stay one path segment', async () => {
    for (const slug of ['..', '.', '']) {
      api.requests.length = 0;
      api.script = (request, response) => {
        if (!request.url?.startsWith('/posts?') && request.url !== '/posts') return false;
        return json(response, {
          data: [
            { id: 1, slug: 'ok' },
            { id: 2, slug },
          ],
          meta: {},
        });
      };
      const { run, result } = await collect(
        options({
          paginator: bodyCursor({ pointer: '/meta/next', param: 'cursor', optional: true }),
          resources: [
            {
              name: 'posts',
              path: '/posts',
              records: '/data',
              children: [{ name: 'comments', path: '/posts/{slug}/comments', records: '/data' }],
            },
          ],
        }),
      );
      // `/posts/../comments` is `/comments` to every URL parser: another endpoint altogether.
      expect(result.failed, JSON.stringify(slug)).toBe(1);
      expect(run.unit('posts')?.error?.message).toContain(
        `pointer "/data/*/slug": child "comments" cannot put ${JSON.stringify(slug)} in its path`,
      );
      expect(api.requests.map((r) => r.url).filter((url) => !url.startsWith('/posts?'))).toEqual(
        [],
      );
    }
  });

  it('retries 503 with Retry-After, then goes on', async () => {
    let failures = 0;
    api.script = (_request, response) => {
      if (failures >= 2) return false;
      failures += 1;
      return json(response, { error: 'busy' }, 503, { 'retry-after': '0' });
    };
    const { records, result } = await collect(
      options({ retries: 2, resources: [{ name: 'posts', path: '/posts', records: '/data' }] }),
    );
    expect(result.failed).toBe(0);
    expect(records).toHaveLength(7);
    expect(api.requests).toHaveLength(5);
  });

  it('a 401 stops the run with HttpAuthError (an AuthenticationError): no unit failed, no other unit starts', async () => {
    api.script = (request, response) =>
      request.url?.includes('/comments') ? json(response, { error: 'bad key' }, 401) : false;
    const source = httpSource(options());
    const run = await openRun({
      id: 'auth',
      store: memoryStore(),
      config: source.config,
      signals: false,
    });
    const refused = await pipeline({
      run,
      source,
      sink: { write: () => {} },
      signal: source.signal,
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HttpAuthError);
    expect(refused).toBeInstanceOf(AuthenticationError);
    expect((refused as HttpAuthError).failureCause).toMatchObject({ status: 401 });
    expect(String((refused as Error).message)).not.toContain(SECRET);
    expect(source.signal.reason).toBe(refused);
    const comments = api.requests.filter((r) => r.url.includes('/comments'));
    expect(comments).toHaveLength(1);
    const units = Object.values(run.checkpoint.units);
    expect(units.filter((u) => u.status === 'failed')).toHaveLength(0);
    expect(units.filter((u) => u.status === 'complete')).toHaveLength(1);
  });

  it('HttpBodyError is a typed error', () => {
    const error = new HttpBodyError({ resource: 'r', unit: 'u', url: 'http://h/p' }, '/x', 'bad');
    expect(error.message).toBe('resource "r" (unit "u"), page http://h/p, pointer "/x": bad');
    expect(error.retryable).toBe(false);
  });
});
