/**
 * Conditional requests against json-server (Express answers If-None-Match with 304 on its own):
 * a later run of the same collection asks with the kept ETags and reuses the kept pages.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  filePageCache,
  type HttpRecord,
  type HttpSourceOptions,
  memoryPageCache,
  type PageCache,
} from '../../src/index.js';
import { collect } from '../helpers.js';
import { startCursorApi } from '../servers/cursor-api.js';
import { POSTS, postsDb, startJsonServer } from '../servers/json-server.js';

const sorted = (records: readonly HttpRecord[]) =>
  records.map((r) => `${r.unit} ${JSON.stringify(r.data)}`).sort();

describe('conditional requests (ETag / If-None-Match) against json-server', () => {
  let server: Awaited<ReturnType<typeof startJsonServer>>;
  let scratch: string;
  beforeAll(async () => {
    server = await startJsonServer(postsDb());
    scratch = mkdtempSync(join(tmpdir(), 'checkpointkit-http-cache-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const posts = (cache: PageCache, extra: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: server.url,
    resources: [{ name: 'posts', path: '/posts', params: { _page: 1, _limit: 5 } }],
    cache,
    ...extra,
  });

  it('asks again with the kept ETags: every page 304, the same records', async () => {
    const cache = memoryPageCache();
    const first = await collect(posts(cache), undefined, 'first');
    expect(first.source.requests).toBe(5);
    expect(first.source.notModified).toBe(0);

    const second = await collect(posts(cache), undefined, 'second');
    expect(second.source.requests).toBe(5);
    expect(second.source.notModified).toBe(5);
    expect(second.records).toEqual(first.records);
    expect(second.result.pages).toBe(5);
  });

  it('fetches a changed page whole, and only that one', async () => {
    const cache = memoryPageCache();
    await collect(posts(cache), undefined, 'before');
    const patched = await fetch(`${server.url}/posts/7`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'edited' }),
    });
    expect(patched.status).toBe(200);
    try {
      const after = await collect(posts(cache), undefined, 'after');
      expect(after.source.notModified).toBe(4);
      expect(after.records.find((r) => (r.data as { id: number }).id === 7)?.data).toEqual({
        id: 7,
        title: 'edited',
      });
      // And the new page was kept: a third run has nothing to fetch.
      const again = await collect(posts(cache), undefined, 'again');
      expect(again.source.notModified).toBe(5);
    } finally {
      await fetch(`${server.url}/posts/7`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'post 7' }),
      });
    }
  });

  it('plans child resources from kept pages as from fresh ones', async () => {
    const cache = memoryPageCache();
    const options = posts(cache, {
      resources: [
        {
          name: 'posts',
          path: '/posts',
          params: { _page: 1, _limit: 10 },
          children: [{ name: 'comments', path: '/posts/{id}/comments' }],
        },
      ],
    });
    const first = await collect(options, undefined, 'tree-1');
    const second = await collect(options, undefined, 'tree-2');
    expect(second.source.notModified).toBe(second.source.requests);
    expect(second.source.requests).toBe(3 + POSTS);
    expect(sorted(second.records)).toEqual(sorted(first.records));
    expect(Object.keys(second.run.checkpoint.units)).toHaveLength(1 + POSTS);
  });

  describe('filePageCache', () => {
    let dir: string;
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps pages across processes, under names that hold no URL and no secret', async () => {
      dir = join(scratch, 'pages');
      const options = posts(filePageCache(dir), {
        auth: { type: 'query', name: 'key', value: 'sekrit-query-key' },
      });
      const first = await collect(options, undefined, 'file-1');
      const files = readdirSync(dir);
      expect(files).toHaveLength(5);
      for (const file of files) {
        expect(file).toMatch(/^[0-9a-f]{64}\.json$/);
        expect(readFileSync(join(dir, file), 'utf8')).not.toContain('sekrit');
      }
      // A new cache object on the same folder, as a later process would open it.
      const second = await collect({ ...options, cache: filePageCache(dir) }, undefined, 'file-2');
      expect(second.source.notModified).toBe(5);
      expect(second.records).toEqual(first.records);
    });

    it('takes a damaged entry for a miss, fetches that page whole and keeps it again', async () => {
      dir = join(scratch, 'damaged');
      const first = await collect(posts(filePageCache(dir)), undefined, 'damage-1');
      const files = readdirSync(dir).sort();
      writeFileSync(join(dir, files[0] ?? ''), '{"etag": "W/\\"x\\"", "body": tru');
      writeFileSync(join(dir, files[1] ?? ''), JSON.stringify({ etag: 1, headers: [], body: '' }));
      const second = await collect(posts(filePageCache(dir)), undefined, 'damage-2');
      expect(second.source.notModified).toBe(3);
      expect(second.records).toEqual(first.records);
      const third = await collect(posts(filePageCache(dir)), undefined, 'damage-3');
      expect(third.source.notModified).toBe(5);
      expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    });
  });
});

describe('a 304 the source did not ask for', () => {
  it('fails the unit with an error that names the page', async () => {
    const api = await startCursorApi({ posts: 4, size: 2 });
    try {
      api.script = (_request, response) => {
        response.writeHead(304).end();
        return true;
      };
      const { result } = await collect({
        baseUrl: api.url,
        resources: [{ name: 'posts', path: '/posts', records: '/data' }],
        retries: 0,
      });
      expect(result.failed).toBe(1);
      const [failure] = result.failures.first;
      expect(failure?.message).toContain(`${api.url}/posts`);
      expect(failure?.message).toMatch(/304 Not Modified to a request that had no If-None-Match/);
      expect(failure?.retryable).toBe(false);
    } finally {
      await api.close();
    }
  });
});
