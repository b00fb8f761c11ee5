/**
 * Headers real servers send that are legal, or merely odd, and that a parser trusting the common
 * case gets wrong: rate-limit resets beyond any date, Link headers whose quoted parameters hold
 * commas, Link and Location headers in raw UTF-8, content types that lie, a Content-Encoding of
 * "Identity" or a corrupt one, and no headers at all. Each must read every page, or fail naming
 * the page.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bodyCursor,
  type HttpSourceOptions,
  httpSource,
  linkHeader,
  rateLimitFromHeaders,
} from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const PAGE = { data: [{ id: 1 }, { id: 2 }], next: null };

/** Reset values no Date can hold: epoch microseconds, an exponent, a structured field's t. */
const resets: [string, Record<string, string>][] = [
  [
    'X-RateLimit-Reset in microseconds',
    { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1767225600000000' },
  ],
  ['RateLimit-Reset of 1e300', { 'ratelimit-remaining': '0', 'ratelimit-reset': '1e300' }],
  ['RateLimit t=1e20', { ratelimit: '"default";r=0;t=1e20' }],
];

describe('rate-limit resets beyond any date', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 1,
    paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });

  for (const [name, headers] of resets) {
    it(`${name} on a 200: the page is read, the reset left out`, async () => {
      api.handler = (_q, response) => json(response, PAGE, 200, headers);
      const seen: unknown[] = [];
      const { records, run } = await collect(options({ onRateLimit: (info) => seen.push(info) }));
      expect(run.unit('posts')?.error ?? null).toBeNull();
      expect(records).toHaveLength(2);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ remaining: 0 });
      expect(seen[0]).not.toHaveProperty('resetAt');
      expect(rateLimitFromHeaders(new Headers(headers), new Date())).not.toHaveProperty('resetAt');
    });
  }

  // One case: each try costs a backoff, and the wait is read by the same code as on a 200.
  it('a reset in microseconds on a 429: tried again after the backoff, then read', async () => {
    const headers = resets[0]?.[1] ?? {};
    api.handler = (_q, response, n) =>
      n === 1 ? json(response, { error: 'slow down' }, 429, headers) : json(response, PAGE);
    const { records, run } = await collect(options());
    expect(run.unit('posts')?.error ?? null).toBeNull();
    expect(records).toHaveLength(2);
    expect(api.seen).toHaveLength(2);
  });
});

describe('a server that never answers', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  it('no headers at all: the try is dropped after `timeout` and the page read on the next', async () => {
    // The first request is read and never answered (undici's headersTimeout is 5 minutes).
    api.handler = (_q, response, n) => void (n > 1 && json(response, PAGE));
    const { records, run } = await collect({
      baseUrl: api.url,
      retries: 1,
      timeout: 300,
      paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
      resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    });
    expect(run.unit('posts')?.error ?? null).toBeNull();
    expect(records).toHaveLength(2);
    expect(api.seen).toHaveLength(2);
  });
});

describe('Link headers as RFC 8288 allows them', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  /** Three pages; page n's Link header is `link(n + 1)` (none on the last). */
  const serve = (link: (next: string) => string | string[]) => {
    api.handler = (request, response) => {
      const page = Number(new URL(request.url ?? '/', api.url).searchParams.get('page') ?? 1);
      response.writeHead(200, {
        'content-type': 'application/json',
        ...(page < 3 && { link: link(`/posts?page=${page + 1}`) }),
      });
      response.end(JSON.stringify([{ id: page }]));
    };
  };
  const ids = async () => {
    const { records, run } = await collect({
      baseUrl: api.url,
      retries: 0,
      paginator: linkHeader(),
      resources: [{ name: 'posts', path: '/posts' }],
    });
    expect(run.unit('posts')?.error ?? null).toBeNull();
    return records.map((r) => (r.data as { id: number }).id);
  };

  const links: [string, (next: string) => string | string[]][] = [
    [
      'a quoted title with a comma before rel',
      (n) => `<${n}>; title="Page 2, newest first"; rel="next"`,
    ],
    ['a quoted title with a comma after rel', (n) => `<${n}>; rel="next"; title="more, please"`],
    [
      'a previous link whose title holds a comma and a quote',
      (n) => `</posts?page=1>; title="first \\"page\\", again"; rel="prev", <${n}>; rel="next"`,
    ],
    ['a rel that is a quoted list, odd spacing', (n) => `<${n}> ;REL = "prefetch  next"`],
    ['an unquoted rel and a media type', (n) => `<${n}>;rel=next;type="application/json"`],
    ['two Link header lines', (n) => ['</posts?page=1>; rel="first"', `<${n}>; rel="next"`]],
    ['a URL with commas and semicolons in it', (n) => `<${n}&ids=1,2;3>; rel="next"`],
  ];
  for (const [name, link] of links) {
    it(`${name}: every page is read`, async () => {
      serve(link);
      expect(await ids()).toEqual([1, 2, 3]);
    });
  }

  // Python, Go and Rails servers write a header's text as UTF-8 bytes; undici reads them as
  // Latin-1, so "café" came back as "cafÃ©" and the next page was asked for with another cursor.
  it('a Link whose URL is raw UTF-8 (a unicode cursor): the next page gets the cursor as sent', async () => {
    const cursor = 'café ✓ 東京';
    serve((n) => Buffer.from(`<${n}&cursor=${cursor}>; rel="next"`).toString('latin1'));
    expect(await ids()).toEqual([1, 2, 3]);
    const got = api.seen.map((s) => new URL(s.url, api.url).searchParams.get('cursor'));
    expect(got).toEqual([null, cursor, cursor]);
  });

  it('a Link in Latin-1 that is not UTF-8 is read as Latin-1, as before', async () => {
    serve((n) => `<${n}&q=café>; rel="next"`);
    expect(await ids()).toEqual([1, 2, 3]);
    expect(new URL(api.seen[1]?.url ?? '', api.url).searchParams.get('q')).toBe('café');
  });

  it('a redirect whose Location is raw UTF-8 is followed to that path', async () => {
    api.handler = (request, response) => {
      if (request.url === '/posts')
        return void response
          .writeHead(301, { location: Buffer.from('/pósts/ü').toString('latin1') })
          .end();
      json(response, [{ id: request.url }]);
    };
    expect(await ids()).toEqual([encodeURI('/pósts/ü')]);
  });

  it('a rel in a title is not taken for the link relation', async () => {
    serve((n) => `<${n}>; title="rel=next"; rel="alternate"`);
    expect(await ids()).toEqual([1]);
  });
});

describe('content encodings written the way servers write them', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  const readPosts = async () => {
    const { records, run } = await collect({
      baseUrl: api.url,
      retries: 2,
      paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
      resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    });
    return { data: records.map((r) => r.data), error: run.unit('posts')?.error };
  };

  for (const type of [undefined, 'text/html', 'text/plain; charset=iso-8859-1']) {
    it(`JSON sent as ${type ?? 'no content type'} is read: the body decides, not the label`, async () => {
      api.handler = (_q, response) => {
        response.writeHead(200, type ? { 'content-type': type } : {});
        response.end(JSON.stringify(PAGE));
      };
      expect((await readPosts()).data).toEqual(PAGE.data);
    });
  }

  const corrupt: [string, string, () => Buffer][] = [
    ['brotli that is not', 'br', () => Buffer.from('definitely not brotli')],
    ['gzip cut short', 'gzip', () => gzipSync(JSON.stringify(PAGE)).subarray(0, 20)],
    ['deflate that is not', 'deflate', () => Buffer.from('{"data":[]}')],
  ];
  for (const [name, encoding, body] of corrupt) {
    it(`${name}: the unit fails at once, naming the page and the encoding`, async () => {
      api.handler = (_q, response) => {
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': encoding,
        });
        response.end(body());
      };
      const { error } = await readPosts();
      expect(api.seen).toHaveLength(1);
      expect(error).toMatchObject({ retryable: false });
      expect(error?.message).toMatch(
        new RegExp(
          `page http://127\\.0\\.0\\.1:\\d+/posts: the body cannot be decoded \\(${encoding} body: `,
        ),
      );
    });
  }

  for (const encoding of ['Identity', ' identity ', 'IDENTITY', '']) {
    it(`a Content-Encoding of ${JSON.stringify(encoding)} is no encoding`, async () => {
      api.handler = (_q, response) => {
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': encoding,
        });
        response.end(JSON.stringify(PAGE));
      };
      const source = httpSource({
        baseUrl: api.url,
        retries: 0,
        paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
        resources: [{ name: 'posts', path: '/posts', records: '/data' }],
      });
      const pages = [];
      for await (const page of source.read(
        { key: 'posts', cursor: null },
        new AbortController().signal,
      ))
        pages.push(page);
      expect(pages.flatMap((p) => p.items.map((i) => i.data))).toEqual(PAGE.data);
    });
  }
});
