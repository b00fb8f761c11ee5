/**
 * Answers a hostile or broken API gives: Retry-After in every form and none, 429 storms, bodies
 * that are not JSON or not the expected shape, encodings and lengths that lie, bodies that trickle
 * or stall, connections reset, and an API that echoes the token everywhere it can. Each ends as a
 * typed, named failure (or a success after a retry), and no secret reaches a message or a file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Auth, bodyCursor, filePageCache, type HttpSourceOptions } from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const SECRET = 'tok_echoed-back-0123456789';
const PAGE = { data: [{ id: 1 }, { id: 2 }], next: null };

describe('answers that lie, stall or leak', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted((_request, response) => json(response, PAGE));
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 1,
    maxRetryDelay: 2_000,
    paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });
  /** Answers the first `times` requests with `first`, then the page. */
  const firstly = (times: number, first: Scripted['handler']) => {
    api.handler = (request, response, n) =>
      n <= times ? first(request, response, n) : json(response, PAGE);
  };

  for (const retryAfter of ['0', 'soon', '-5', '1.5', '', 'Wed, 21 Oct 2015 07:28:00 GMT']) {
    it(`a 503 with Retry-After ${JSON.stringify(retryAfter)} is tried again, and the page read`, async () => {
      firstly(1, (_q, response) =>
        json(response, { error: 'busy' }, 503, { 'retry-after': retryAfter }),
      );
      const { records, result } = await collect(options());
      expect(result.failed).toBe(0);
      expect(records).toHaveLength(2);
      expect(api.seen).toHaveLength(2);
    });
  }

  for (const retryAfter of [
    '9'.repeat(400),
    '99999999999999999999',
    'Fri, 31 Dec 9999 23:59:59 GMT',
  ]) {
    it(`a Retry-After of ${retryAfter.slice(0, 12)}… fails at once, retryable by the next run`, async () => {
      api.handler = (_q, response) =>
        json(response, { error: 'later' }, 429, { 'retry-after': retryAfter });
      const { run } = await collect(options({ retries: 3 }));
      expect(api.seen).toHaveLength(1);
      expect(run.unit('posts')?.error).toMatchObject({ retryable: true });
      expect(run.unit('posts')?.error?.message).toContain('429 Too Many Requests');
    });
  }

  it('a storm of 429s on every resource: each unit fails retryable after its retries, none aborts the run', async () => {
    api.handler = (_q, response) => json(response, { error: 'storm' }, 429, { 'retry-after': '0' });
    const { run, result } = await collect(
      options({
        retries: 2,
        resources: ['a', 'b', 'c'].map((name) => ({ name, path: `/${name}`, records: '/data' })),
      }),
    );
    expect(result.failed).toBe(3);
    expect(result.aborted).toBe(false);
    expect(api.seen).toHaveLength(9);
    for (const unit of ['a', 'b', 'c']) expect(run.unit(unit)?.error?.retryable).toBe(true);
  });

  it('a JSON body behind a UTF-8 byte order mark is read, as fetch read it', async () => {
    api.handler = (_q, response) => {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.end(
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(PAGE))]),
      );
    };
    const { records, result } = await collect(options());
    expect(result.failed).toBe(0);
    expect(records.map((r) => r.data)).toEqual(PAGE.data);
  });

  const badBodies: [string, string, RegExp][] = [
    // An HTML page labelled JSON: html-answers.test.ts.
    // An empty body: empty-body.test.ts.
    ['a JSON string', '"ok"', /pointer "\/data": the body has no such field/],
    [
      'records that are an object',
      '{"data":{"id":1}}',
      /pointer "\/data": expected an array of records, found an object/,
    ],
    ['records that are null', '{"data":null}', /found null/],
    ['JSON cut short', '{"data":[{"id":1}', /the body is not JSON/],
  ];
  for (const [name, body, expected] of badBodies) {
    it(`${name} fails the unit, not retried, naming the page`, async () => {
      api.handler = (_q, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(body);
      };
      const { run } = await collect(options());
      expect(api.seen).toHaveLength(1);
      expect(run.unit('posts')?.error).toMatchObject({ retryable: false });
      expect(run.unit('posts')?.error?.message).toMatch(expected);
      expect(run.unit('posts')?.error?.message).toMatch(/page http:\/\/127\.0\.0\.1:\d+\/posts/);
    });
  }

  for (const encoding of ['constructor', '__proto__', 'compress', 'gzip, br']) {
    it(`a content-encoding of "${encoding}" is not taken for one we asked for`, async () => {
      api.handler = (_q, response) => {
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': encoding,
        });
        response.end(JSON.stringify(PAGE));
      };
      const { run } = await collect(options());
      expect(run.unit('posts')?.error?.message).toContain(
        `the body cannot be decoded (content-encoding "${encoding.toLowerCase()}" was not asked for)`,
      );
    });
  }

  it('a gzip page is read when maxPageBytes is above the largest buffer', async () => {
    api.handler = (_q, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify(PAGE)));
    };
    const { records, run } = await collect(options({ maxPageBytes: 2 ** 40 }));
    expect(run.unit('posts')?.error).toBeNull();
    expect(records).toHaveLength(2);
  });

  it('a Content-Length shorter than the body: the page is cut, and fails as not JSON', async () => {
    api.handler = (_q, response) => {
      const body = JSON.stringify(PAGE);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '10' });
      response.end(body);
    };
    const { run } = await collect(options());
    expect(run.unit('posts')?.error?.message).toContain('the body is not JSON');
  });

  it('a connection reset before any answer is tried again, then fails retryable naming the cause', async () => {
    api.handler = (request) => request.socket.destroy();
    const { run } = await collect(options({ retries: 2 }));
    expect(api.seen).toHaveLength(3);
    expect(run.unit('posts')?.error).toMatchObject({ retryable: true });
    expect(run.unit('posts')?.error?.message).toMatch(
      /network error .*\((UND_ERR_SOCKET|ECONNRESET)\)/,
    );
  });

  it("a body that stalls mid-way is given up after the dispatcher's bodyTimeout and tried again", async () => {
    firstly(1, (_q, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"data": [{"id"');
      // …and nothing more, until the client hangs up.
    });
    const dispatcher = new Agent({ bodyTimeout: 300 });
    try {
      const { records, result } = await collect(options({ dispatcher }));
      expect(result.failed).toBe(0);
      expect(records).toHaveLength(2);
      expect(api.seen).toHaveLength(2);
    } finally {
      await dispatcher.close();
    }
  });

  it('a body that trickles (never idle long enough to time out) is given up after `timeout`', async () => {
    let trickled = 0;
    firstly(1, (_q, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const body = JSON.stringify({ ...PAGE, pad: ' '.repeat(400) });
      // One byte every 50 ms: 20 s for the page, were it read to its end.
      const drip = setInterval(() => {
        if (response.destroyed || trickled >= body.length) {
          clearInterval(drip);
          if (!response.destroyed) response.end();
          return;
        }
        response.write(body[trickled++]);
      }, 50);
      response.on('close', () => clearInterval(drip));
    });
    const { records, result } = await collect(options({ timeout: 1_000 }));
    expect(result.failed).toBe(0);
    expect(records).toHaveLength(2);
    // The trickled try was dropped, and the page came from the second.
    expect(api.seen).toHaveLength(2);
  });

  it('refuses a timeout that is not a whole number of ms', async () => {
    for (const timeout of [0, Number.NaN, Number.POSITIVE_INFINITY])
      await expect(collect(options({ timeout }))).rejects.toThrow('option "timeout"');
  });

  const auths: [string, Auth][] = [
    ['bearer', { type: 'bearer', token: SECRET }],
    ['a query key', { type: 'query', name: 'key', value: SECRET }],
    ['basic', { type: 'basic', username: 'me', password: SECRET }],
    [
      'custom',
      { type: 'custom', apply: ({ headers }) => headers.set('x-sig', SECRET), secrets: [SECRET] },
    ],
  ];
  const echoes: [string, number, (secret: string) => string][] = [
    ['a 500 body', 500, (s) => `{"error":"bad token ${s}"}`],
    ['a 404 body, URL-encoded', 404, (s) => `{"error":"no ${encodeURIComponent(`${s} /`)}"}`],
    ['a 200 body that is not JSON', 200, (s) => `token=${s}; ${'x'.repeat(300)}`],
    ['a 422 body with the token past the clip', 422, (s) => `${'y'.repeat(195)}${s}`],
  ];
  for (const [authName, auth] of auths)
    for (const [echoName, status, body] of echoes)
      it(`${authName}: ${echoName} that echoes the token reaches no message or checkpoint`, async () => {
        api.handler = (_q, response) => {
          response.writeHead(status, {
            'content-type': 'application/json',
            'x-debug-token': SECRET,
          });
          response.end(body(SECRET));
        };
        const { run } = await collect(options({ auth, retries: 0 }));
        expect(run.unit('posts')?.error?.message).toMatch(/page http:\/\/127\.0\.0\.1:\d+\/posts/);
        expect(JSON.stringify(run.checkpoint)).not.toContain(SECRET);
        expect(JSON.stringify(run.checkpoint)).not.toContain(SECRET.slice(0, 12));
      });

  it('an ETag that echoes the token is not kept in the page cache on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-http-etag-'));
    try {
      api.handler = (_q, response) => json(response, PAGE, 200, { etag: `"${SECRET}"` });
      const { result } = await collect(
        options({ auth: { type: 'bearer', token: SECRET }, cache: filePageCache(dir) }),
      );
      expect(result.failed).toBe(0);
      for (const file of readdirSync(dir))
        expect(readFileSync(join(dir, file), 'utf8')).not.toContain(SECRET);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
