/**
 * Where a hostile (or broken) API can send the source: redirects and next-page links to another
 * origin, to `file:` and `data:` URLs, paths that climb out of the base, and a checkpoint whose
 * cursor points elsewhere. Credentials go to the API's own origin only; a next page that is not
 * there fails the unit before its URL becomes a cursor.
 */
import type { Json } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Auth,
  bodyCursor,
  HttpBodyError,
  HttpCursorError,
  HttpSourceConfigError,
  type HttpSourceOptions,
  httpSource,
  linkHeader,
  nextUrl,
} from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const SECRET = 'tok_hostile-origin-0123456789';

const auths: [string, Auth][] = [
  ['bearer', { type: 'bearer', token: SECRET }],
  ['basic', { type: 'basic', username: 'me', password: SECRET }],
  ['an API-key header', { type: 'header', name: 'x-api-key', value: SECRET }],
  ['a query key', { type: 'query', name: 'api_key', value: SECRET }],
  [
    'a custom signing header',
    {
      type: 'custom',
      apply: ({ headers }) => headers.set('x-signature', `v1=${SECRET}`),
      secrets: [SECRET],
    },
  ],
];

/** Everything a request carried, as one text: a credential anywhere in it shows. */
const carried = (seen: Scripted['seen']) => JSON.stringify(seen);
const basicForm = Buffer.from(`me:${SECRET}`).toString('base64');

describe('an API that sends the source to another origin', () => {
  let api: Scripted;
  let other: Scripted;
  beforeEach(async () => {
    api = await startScripted();
    other = await startScripted((_request, response) =>
      json(response, { data: [{ id: 'elsewhere' }], next: null }),
    );
  });
  afterEach(async () => {
    await api.close();
    await other.close();
  });

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: `${api.url}/v2`,
    retries: 0,
    paginator: linkHeader(),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });

  for (const status of [301, 302, 303, 307, 308]) {
    for (const [name, auth] of auths) {
      it(`a ${status} to another port is followed without ${name}, even one the Location echoes`, async () => {
        // The Location keeps the request's query, as "moved" redirects often do: a query key too.
        api.handler = (request, response) => {
          const query = new URL(request.url ?? '/', api.url).search;
          response.writeHead(status, { location: `${other.url}/mirror${query}` }).end();
        };
        const { records, result } = await collect(options({ auth }));
        expect(result.failed).toBe(0);
        expect(records.map((r) => r.data)).toEqual([{ id: 'elsewhere' }]);
        expect(other.seen).toHaveLength(1);
        expect(carried(other.seen)).not.toContain(SECRET);
        expect(carried(other.seen)).not.toContain(basicForm);
        // The API's own origin did get them: the request before the redirect was authenticated.
        expect(carried(api.seen)).toMatch(new RegExp(`${SECRET}|${basicForm}`));
      });
    }
  }

  it('once a redirect left the origin, the credentials stay off, even back on the API', async () => {
    api.handler = (request, response) => {
      if (request.url?.startsWith('/v2/posts'))
        return void response.writeHead(302, { location: `${other.url}/bounce` }).end();
      json(response, { data: [{ id: 'home' }] });
    };
    other.handler = (_request, response) =>
      void response.writeHead(302, { location: `${api.url}/home` }).end();
    const { records } = await collect(options({ auth: { type: 'bearer', token: SECRET } }));
    expect(records.map((r) => r.data)).toEqual([{ id: 'home' }]);
    expect(carried(other.seen)).not.toContain(SECRET);
    expect(api.seen[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(api.seen[1]?.headers.authorization).toBeUndefined();
  });

  it('a redirect to a file: URL fails the unit, naming the page, and reads no file', async () => {
    api.handler = (_request, response) =>
      void response.writeHead(302, { location: 'file:///etc/passwd' }).end();
    const { run, result } = await collect(options());
    expect(result.failed).toBe(1);
    const error = run.unit('posts')?.error;
    expect(error?.message).toMatch(
      /page http:\/\/127\.0\.0\.1:\d+\/v2\/posts: 302 redirected to file:\/\/\/etc\/passwd, not an http\(s\) URL/,
    );
    expect(error?.retryable).toBe(false);
  });

  const nextLinks: [string, () => Partial<HttpSourceOptions>][] = [
    ['a Link header to another port', () => ({ paginator: linkHeader() })],
    [
      'a next URL in the body to another port',
      () => ({ paginator: nextUrl({ pointer: '/next' }) }),
    ],
  ];
  for (const [name, paginator] of nextLinks) {
    it(`${name}: the unit fails before the link is followed or saved, and no credential leaves`, async () => {
      api.handler = (_request, response) =>
        json(response, { data: [{ id: 1 }], next: `${other.url}/steal?page=2` }, 200, {
          link: `<${other.url}/steal?page=2>; rel="next"`,
        });
      const { run, result } = await collect(
        options({ auth: { type: 'bearer', token: SECRET }, ...paginator() }),
      );
      expect(result.failed).toBe(1);
      expect(other.seen).toEqual([]);
      const error = run.unit('posts')?.error?.message ?? '';
      expect(error).toContain(`${other.url}/steal?page=2`);
      expect(error).toContain(`not on the API's origin (${api.url})`);
      expect(run.unit('posts')?.cursor).toBeNull();
    });
  }

  for (const target of [
    'file:///etc/passwd',
    'data:application/json,{"data":[{"id":"forged"}]}',
    'javascript:alert(1)',
    'https://127.0.0.1/v2/posts?page=2',
    '//localhost/v2/posts?page=2',
  ]) {
    it(`a next URL of ${target.split(':')[0]}… fails the unit, is never saved as a cursor`, async () => {
      api.handler = (_request, response) => json(response, { data: [{ id: 1 }], next: target });
      const { run, result, records } = await collect(
        options({ paginator: nextUrl({ pointer: '/next' }) }),
      );
      expect(result.failed).toBe(1);
      expect(records).toEqual([]);
      expect(api.seen).toHaveLength(1);
      expect(run.unit('posts')?.error).toMatchObject({ retryable: false });
      expect(run.unit('posts')?.error?.message).toContain("not on the API's origin");
      expect(run.unit('posts')?.cursor).toBeNull();
    });
  }

  it('a relative next path that climbs out of the base stays on the API origin', async () => {
    api.handler = (request, response) => {
      if (request.url?.startsWith('/v2/posts'))
        return json(response, { data: [{ id: 1 }], next: '../../../../admin?page=2' });
      json(response, { data: [{ id: 2 }], next: null });
    };
    const { records } = await collect(
      options({
        auth: { type: 'bearer', token: SECRET },
        paginator: nextUrl({ pointer: '/next' }),
      }),
    );
    expect(records).toHaveLength(2);
    expect(api.seen.map((s) => s.url)).toEqual(['/v2/posts', '/admin?page=2']);
    expect(other.seen).toEqual([]);
  });

  it('a body cursor full of URL syntax is sent back as one parameter, exactly', async () => {
    const odd = `${other.url}/x?a=1&b=2#frag /../%2F+`;
    api.handler = (request, response) => {
      const cursor = new URL(request.url ?? '/', api.url).searchParams.get('cursor');
      json(response, { data: [{ cursor }], next: cursor === null ? odd : null });
    };
    const { records } = await collect(
      options({ paginator: bodyCursor({ pointer: '/next', param: 'cursor' }) }),
    );
    expect(records.map((r) => r.data)).toEqual([{ cursor: null }, { cursor: odd }]);
    expect(other.seen).toEqual([]);
  });

  it('a checkpoint whose cursor points at another origin is refused, and nothing is fetched', async () => {
    const source = httpSource(options({ auth: { type: 'bearer', token: SECRET } }));
    const read = async (next: string) => {
      for await (const _page of source.read(
        { key: 'posts', cursor: { next } as Json },
        new AbortController().signal,
      ));
    };
    for (const next of [`${other.url}/steal`, 'file:///etc/passwd']) {
      const error = await read(next).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpCursorError);
      expect((error as Error).message).toContain("not on the API's origin");
    }
    expect(other.seen).toEqual([]);
    expect(api.seen).toEqual([]);
  });

  for (const baseUrl of ['file:///srv/api', 'data:text/plain,x', 'ftp://127.0.0.1/api']) {
    it(`refuses a baseUrl of ${baseUrl.split(':')[0]}: with the option named`, () => {
      const make = () => httpSource(options({ baseUrl }));
      expect(make).toThrow(HttpSourceConfigError);
      expect(make).toThrow(/option "baseUrl" must be an http: or https: URL/);
    });
  }

  // A relative path resolved against `https://api/v2?api_key=k` drops the query: every request
  // went out without the key the user put there, and failed as 401 with no word of why.
  for (const baseUrl of [
    'http://127.0.0.1:9/v2?api_key=s3cret-key',
    'http://127.0.0.1:9/v2#s3cret',
  ]) {
    it(`refuses a baseUrl with a ${baseUrl.includes('?') ? 'query' : 'fragment'}, without showing it`, () => {
      const make = () => httpSource(options({ baseUrl }));
      expect(make).toThrow(HttpSourceConfigError);
      expect(make).toThrow(/option "baseUrl" must not have a (query|fragment)/);
      expect(() => make()).not.toThrow(/s3cret/);
    });
  }

  it('HttpBodyError is what a foreign next link fails with', async () => {
    api.handler = (_request, response) =>
      json(response, { data: [{ id: 1 }] }, 200, { link: `<${other.url}/p2>; rel="next"` });
    const source = httpSource(options());
    const error = await (async () => {
      for await (const _page of source.read(
        { key: 'posts', cursor: null },
        new AbortController().signal,
      ));
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpBodyError);
  });
});
