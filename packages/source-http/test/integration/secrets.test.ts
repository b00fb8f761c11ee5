import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStore } from '@checkpointkit/storage-file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Auth, linkHeader } from '../../src/index.js';
import { collect } from '../helpers.js';
import { json, startCursorApi } from '../servers/cursor-api.js';
import { POSTS, postsDb, startJsonServer } from '../servers/json-server.js';

/**
 * json-server builds its Link header from the request's own query, credentials included: the
 * next URL an API hands back may carry whatever secret the request carried. Whatever the kind of
 * auth, nothing of it may reach the checkpoint's files, and every page must still be read.
 */
const SECRET = 'sk_live_kept-out-0123456789';

const auths: [string, Auth][] = [
  ['a query key', { type: 'query', name: 'api_key', value: SECRET }],
  [
    'a custom hook that signs the query',
    { type: 'custom', apply: ({ url }) => url.searchParams.set('sig', SECRET), secrets: [SECRET] },
  ],
  [
    'a custom hook whose secret is inside a parameter',
    {
      type: 'custom',
      apply: ({ url }) => url.searchParams.set('token', `v1.${SECRET}`),
      secrets: [SECRET],
    },
  ],
  [
    'a custom hook whose secret is URL-encoded in the query',
    {
      type: 'custom',
      apply: ({ url }) => url.searchParams.set('auth', `${SECRET} /+=`),
      secrets: [`${SECRET} /+=`],
    },
  ],
];

describe('secrets an API echoes back in its next URLs', () => {
  let server: Awaited<ReturnType<typeof startJsonServer>>;
  let dir: string;
  beforeAll(async () => {
    server = await startJsonServer(postsDb());
    dir = mkdtempSync(join(tmpdir(), 'ckpt-http-secrets-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, auth] of auths) {
    it(`${name}: no checkpoint file holds it, and every page is read`, async () => {
      const store = fileStore({ dir: join(dir, name.replace(/\W+/g, '-')) });
      const { records, result, run } = await collect(
        {
          baseUrl: server.url,
          auth,
          resources: [{ name: 'posts', path: '/posts', params: { _page: 1, _limit: 5 } }],
          paginator: linkHeader(),
        },
        store,
      );
      await run.close();
      expect(result.failed).toBe(0);
      expect(records).toHaveLength(POSTS);
      const files = readdirSync(store.dir);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files)
        expect(readFileSync(join(store.dir, file), 'utf8'), file).not.toContain('kept-out');
    });
  }

  it('json-server does echo the credential in its Link header (what the tests above rely on)', async () => {
    const response = await fetch(`${server.url}/posts?_page=1&_limit=5&sig=${SECRET}`);
    expect(response.headers.get('link')).toContain(SECRET);
  });

  it('a next URL with the secret outside its query is not saved: the unit fails and says why', async () => {
    const api = await startCursorApi({ posts: 3, size: 3 });
    try {
      // The first page links to a URL with the key in its path; any later request is a 404, so
      // a source that followed the link ends (and this test fails) instead of paging for ever.
      api.script = (_request, response, n) => {
        if (n > 1) json(response, { error: 'followed' }, 404);
        else
          json(response, { data: [{ id: 1 }] }, 200, {
            link: `<${api.url}/t/${SECRET}/posts?page=2>; rel="next"`,
          });
        return true;
      };
      const { result, run } = await collect({
        baseUrl: api.url,
        retries: 0,
        auth: { type: 'bearer', token: SECRET },
        resources: [{ name: 'posts', path: '/posts', records: '/data' }],
        paginator: linkHeader(),
      });
      expect(result.failed).toBe(1);
      expect(run.unit('posts')?.error?.message).toMatch(
        /next page's URL \(http:\/\/127.0.0.1:\d+\/t\/\*\*\*\/posts\?page=2\) holds a credential outside its query/,
      );
      expect(JSON.stringify(run.checkpoint)).not.toContain('kept-out');
      expect(api.requests).toHaveLength(1);
    } finally {
      await api.close();
    }
  });
});
