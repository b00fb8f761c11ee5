/**
 * Next pages as real APIs write them and the checkpoint must keep exactly: URLs with credentials
 * in their user info, cursors that are integers past 2^53, cursors with spaces, unicode and URL
 * syntax, and cursors kilobytes long. A cursor saved must be the one the API gave, resumed
 * exactly; one that cannot be must fail the unit, naming the page, and hold no credential.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStore } from '@checkpointkit/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bodyCursor,
  HttpCursorError,
  type HttpSourceOptions,
  httpSource,
  linkHeader,
  nextUrl,
} from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const SECRET = 'tok_user-info-0123456789';
const USERINFO = 'robot:pw-in-the-link-0123';

describe('next pages that carry user info', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 0,
    auth: { type: 'bearer', token: SECRET },
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });
  const withUserInfo = () => api.url.replace('http://', `http://${USERINFO}@`);

  const paginators: [
    string,
    HttpSourceOptions['paginator'],
    (next: string) => Record<string, string>,
  ][] = [
    ['a next URL in the body', nextUrl({ pointer: '/next' }), () => ({})],
    ['a Link header', linkHeader(), (next) => ({ link: `<${next}>; rel="next"` })],
  ];
  for (const [name, paginator, headers] of paginators) {
    it(`${name} with user:password@ on the API's own origin fails the unit; the password is nowhere`, async () => {
      api.handler = (_q, response, n) => {
        // Ends after page 3, so a source that follows the links ends (and fails this test).
        const next = `${withUserInfo()}/posts?page=${n + 1}`;
        if (n >= 3) json(response, { data: [{ id: n }], next: null });
        else json(response, { data: [{ id: n }], next }, 200, headers(next));
      };
      const { run, result, records } = await collect(options({ paginator }));
      expect(result.failed).toBe(1);
      expect(records).toEqual([]);
      expect(api.seen).toHaveLength(1);
      const error = run.unit('posts')?.error;
      expect(error).toMatchObject({ retryable: false });
      expect(error?.message).toMatch(/page http:\/\/127\.0\.0\.1:\d+\/posts: the next page's URL/);
      expect(error?.message).toContain('user info');
      expect(JSON.stringify(run.checkpoint)).not.toContain('pw-in-the-link');
      expect(run.unit('posts')?.cursor).toBeNull();
    });
  }

  it('a checkpoint whose cursor carries user info is refused, and nothing is fetched', async () => {
    const source = httpSource(options({ paginator: linkHeader() }));
    const cursor = { next: `${withUserInfo()}/posts?page=2` };
    const error = await (async () => {
      for await (const _page of source.read(
        { key: 'posts', cursor },
        new AbortController().signal,
      ));
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpCursorError);
    expect((error as Error).message).toContain('user info');
    expect((error as Error).message).not.toContain('pw-in-the-link');
    expect(api.seen).toEqual([]);
  });

  it('a redirect to user:password@ on the same origin is not followed, and not shown', async () => {
    api.handler = (_q, response) =>
      void response.writeHead(302, { location: `${withUserInfo()}/elsewhere` }).end();
    const { run, result } = await collect(options({ paginator: linkHeader() }));
    expect(result.failed).toBe(1);
    expect(api.seen).toHaveLength(1);
    const message = run.unit('posts')?.error?.message ?? '';
    expect(message).toMatch(/302 redirected to a URL with user info/);
    expect(message).not.toContain('pw-in-the-link');
    expect(JSON.stringify(run.checkpoint)).not.toContain('pw-in-the-link');
  });
});

describe('cursors the checkpoint must keep exactly', () => {
  let api: Scripted;
  let dir: string;
  beforeEach(async () => {
    api = await startScripted();
    dir = mkdtempSync(join(tmpdir(), 'ckpt-http-cursors-'));
  });
  afterEach(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 0,
    auth: { type: 'bearer', token: SECRET },
    paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
  });

  it('an integer cursor past 2^53 (rounded by JSON.parse) fails the unit instead of skipping pages', async () => {
    // Twitter-style: the exact id on the wire, which a JS number cannot hold.
    api.handler = (request, response) => {
      const cursor = new URL(request.url ?? '/', api.url).searchParams.get('cursor');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        cursor === null
          ? '{"data":[{"id":1}],"next":1374004777531007833}'
          : JSON.stringify({ data: [{ id: `after ${cursor}` }], next: null }),
      );
    };
    const { run, result, records } = await collect(options());
    expect(result.failed).toBe(1);
    expect(records).toEqual([]);
    // Never asked for a page the API did not link to.
    expect(api.seen.map((s) => s.url)).toEqual(['/posts']);
    const error = run.unit('posts')?.error;
    expect(error).toMatchObject({ retryable: false });
    expect(error?.message).toMatch(/page http:\/\/127\.0\.0\.1:\d+\/posts, pointer "\/next": /);
    expect(error?.message).toContain('2^53');
  });

  it('integers within 2^53 are still cursors', async () => {
    api.handler = (request, response) => {
      const cursor = new URL(request.url ?? '/', api.url).searchParams.get('cursor');
      json(response, { data: [{ id: cursor }], next: cursor === null ? 9007199254740991 : null });
    };
    const { records, result } = await collect(options());
    expect(result.failed).toBe(0);
    expect(records.map((r) => r.data)).toEqual([{ id: null }, { id: '9007199254740991' }]);
  });

  const odd = [
    ['spaces, unicode and URL syntax', 'page 2 ✓ café/ü?&a=b#c+%20'],
    ['a cursor of 8 KB', `eyJ${'QWxhZGRpbjpvcGVuIHNlc2FtZQ'.repeat(300)}`],
  ];
  for (const [name, cursor] of odd) {
    it(`${name}: saved, resumed by a new run, and sent back exactly`, async () => {
      let down = true;
      api.handler = (request, response) => {
        const got = new URL(request.url ?? '/', api.url).searchParams.get('cursor');
        if (got === null) return json(response, { data: [{ id: 1 }], next: cursor });
        // The job dies on page 2 the first time (a retryable failure); the next run resumes it.
        if (down) return json(response, { error: 'down' }, 503);
        json(response, { data: [{ id: 2, got }], next: null });
      };
      const store = fileStore({ dir });
      const first = await collect(options(), store, 'odd-cursor');
      await first.run.close();
      expect(first.records.map((r) => (r.data as { id: number }).id)).toEqual([1]);
      expect(first.run.unit('posts')?.error?.retryable).toBe(true);
      down = false;
      const second = await collect(options(), fileStore({ dir }), 'odd-cursor');
      await second.run.close();
      expect(second.records.map((r) => r.data)).toEqual([{ id: 2, got: cursor }]);
      expect(api.seen.filter((s) => !s.url.includes('cursor='))).toHaveLength(1);
      for (const file of readdirSync(dir))
        expect(readFileSync(join(dir, file), 'utf8')).not.toContain(SECRET);
    });
  }
});

describe('a cursor that never moves, with records that change a little', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  /** The same records every time, as `vary` dresses them; after 30 pages the API gives up. */
  const stuck = (vary: (n: number) => unknown[]) => {
    api.handler = (_q, response, n) =>
      json(response, { data: vary(n), next: n < 30 ? 'same' : null });
  };
  const run = async () => {
    const { records, run, result } = await collect({
      baseUrl: api.url,
      retries: 0,
      paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
      resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    });
    return { ids: records.map((r) => (r.data as { id: number }).id), run, result };
  };

  const variants: [string, (n: number) => unknown[]][] = [
    ['a timestamp in each record', (n) => [1, 2, 3].map((id) => ({ id, served_at: n }))],
    ['a counter that grows', (n) => [1, 2, 3].map((id) => ({ id, views: 100 + n + id }))],
    ['the order shuffled', (n) => [1, 2, 3].map((_, i) => ({ id: ((i + n) % 3) + 1 }))],
  ];
  for (const [name, vary] of variants) {
    it(`${name}: the unit fails at the cursor's second answer, not 30 pages on`, async () => {
      stuck(vary);
      const { ids, run: done, result } = await run();
      // The first page came from another URL (no cursor): by id alone, a stats API's pages
      // (`?date=`) would repeat too, so only the cursor's own second answer is a repeat.
      const idsOf = (n: number) => vary(n).map((r) => (r as { id: number }).id);
      expect(ids).toEqual([...idsOf(1), ...idsOf(2)]);
      expect(result.failed).toBe(1);
      expect(api.seen).toHaveLength(3);
      expect(done.unit('posts')?.error?.message).toMatch(
        /page http:\/\/127\.0\.0\.1:\d+\/posts\?cursor=same: the API answered with the same records \(by id\) as/,
      );
    });
  }

  it('pages of new ids from the same cursor go on (a queue)', async () => {
    api.handler = (_q, response, n) =>
      json(response, { data: [{ id: n, served_at: n }], next: n < 5 ? 'same' : null });
    const { ids, result } = await run();
    expect(result.failed).toBe(0);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
  });
});
