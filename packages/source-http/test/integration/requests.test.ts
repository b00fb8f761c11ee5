/**
 * The request path as a hostile server drives it: errors, cut connections, Retry-After in both
 * forms, rate-limit resets, compressed and corrupt bodies, redirects across origins, an abort in
 * the middle of a wait, a dispatcher of the user's own, and pages larger than `maxPageBytes`.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyCursor, type HttpSourceOptions, httpSource } from '../../src/index.js';
import { collect } from '../helpers.js';
import { type CursorApi, json, startCursorApi } from '../servers/cursor-api.js';

const SECRET = 'tok_do-not-follow-me-0123456789';
const MB = 1024 * 1024;

describe('requests against a server that misbehaves', () => {
  let api: CursorApi;
  beforeEach(async () => {
    api = await startCursorApi({ posts: 6, size: 3 });
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 2,
    paginator: bodyCursor({ pointer: '/meta/next_cursor', param: 'cursor' }),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });
  const failureOf = (run: {
    unit(key: string): { error?: { message: string; retryable: boolean } | null } | undefined;
  }) => run.unit('posts')?.error;

  it('tries a 500 again `retries` times, then fails the unit as retryable with the status and body', async () => {
    api.script = (_request, response) => json(response, { error: 'database on fire' }, 500);
    const { run, source } = await collect(options());
    expect(source.requests).toBe(3);
    expect(api.requests).toHaveLength(3);
    const error = failureOf(run);
    expect(error?.retryable).toBe(true);
    expect(error?.message).toContain(`${api.url}/posts`);
    expect(error?.message).toContain('500 Internal Server Error');
    expect(error?.message).toContain('database on fire');
  });

  it('does not try a 404 again, and the unit is not retryable', async () => {
    api.script = (_request, response) => json(response, { error: 'gone' }, 404);
    const { run } = await collect(options());
    expect(api.requests).toHaveLength(1);
    expect(failureOf(run)).toMatchObject({ retryable: false });
    expect(failureOf(run)?.message).toContain('404 Not Found');
  });

  it('tries again when the connection is cut in the middle of a body, and loses no record', async () => {
    let cuts = 0;
    api.script = (_request, response) => {
      if (cuts >= 2) return false;
      cuts += 1;
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      response.write('{"data": [{"id": 1, "tit');
      setTimeout(() => response.socket?.destroy(), 10);
      return true;
    };
    const { records, result } = await collect(options());
    expect(result.failed).toBe(0);
    expect(records.map((r) => (r.data as { id: number }).id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(api.requests).toHaveLength(4);
  });

  it('fails a refused connection as a retryable network error that names the cause', async () => {
    await api.close();
    const { run } = await collect(options({ retries: 1 }));
    expect(failureOf(run)).toMatchObject({ retryable: true });
    expect(failureOf(run)?.message).toMatch(/network error .*ECONNREFUSED/);
  });

  it('waits out a Retry-After given as an HTTP date before it asks again', async () => {
    let until = 0;
    const arrivals: number[] = [];
    api.script = (_request, response) => {
      arrivals.push(Date.now());
      if (until !== 0) return false;
      // HTTP dates have whole seconds: two seconds ahead is at least one second of waiting.
      until = (Math.floor(Date.now() / 1000) + 2) * 1000;
      return json(response, { error: 'slow down' }, 429, {
        'retry-after': new Date(until).toUTCString(),
      });
    };
    const { result } = await collect(options());
    expect(result.failed).toBe(0);
    expect(arrivals[1]).toBeGreaterThanOrEqual(until - 5);
  });

  it('waits for the rate limit to reset (X-RateLimit-Reset) when a 429 has no Retry-After', async () => {
    let reset = 0;
    const arrivals: number[] = [];
    api.script = (_request, response) => {
      arrivals.push(Date.now());
      if (reset !== 0) return false;
      reset = Math.floor(Date.now() / 1000) + 2;
      return json(response, { error: 'rate limited' }, 429, {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-limit': '60',
        'x-ratelimit-reset': String(reset),
      });
    };
    const { result } = await collect(options());
    expect(result.failed).toBe(0);
    expect(arrivals[1]).toBeGreaterThanOrEqual(reset * 1000 - 5);
  });

  it('fails at once when Retry-After asks for longer than maxRetryDelay', async () => {
    api.script = (_request, response) =>
      json(response, { error: 'come back tomorrow' }, 503, { 'retry-after': '86400' });
    const { run } = await collect(options({ maxRetryDelay: 1000 }));
    expect(api.requests).toHaveLength(1);
    expect(failureOf(run)).toMatchObject({ retryable: true });
    expect(failureOf(run)?.message).toContain('503 Service Unavailable');
  });

  it('stops waiting when the pipeline is aborted in the middle of a Retry-After', async () => {
    const stop = new AbortController();
    api.script = (_request, response) => {
      setTimeout(() => stop.abort(new Error('Ctrl+C')), 50);
      return json(response, { error: 'busy' }, 503, { 'retry-after': '30' });
    };
    const source = httpSource(options({ maxRetryDelay: 60_000 }));
    const run = await openRun({ id: 'abort', store: memoryStore(), signals: false });
    const started = Date.now();
    const result = await pipeline({ run, source, sink: { write: () => {} }, signal: stop.signal });
    // Had it waited the 30 s out, the test would have timed out long before.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.aborted).toBe(true);
    expect(api.requests).toHaveLength(1);
    expect(run.unit('posts')?.status).not.toBe('failed');
  });

  it('decodes gzip and brotli bodies, and names the page of a corrupt one without trying again', async () => {
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['br', brotliCompressSync],
    ] as const) {
      api.requests.length = 0;
      api.script = (request, response) => {
        expect(request.headers['accept-encoding']).toContain(encoding);
        const body = JSON.stringify({ data: [{ id: 1 }, { id: 2 }], meta: { next_cursor: null } });
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': encoding,
        });
        response.end(compress(Buffer.from(body)));
        return true;
      };
      const { records } = await collect(options(), undefined, `decode-${encoding}`);
      expect(records.map((r) => r.data)).toEqual([{ id: 1 }, { id: 2 }]);
    }
    api.requests.length = 0;
    api.script = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(Buffer.from('not gzip at all'));
      return true;
    };
    const { run } = await collect(options(), undefined, 'corrupt');
    expect(api.requests).toHaveLength(1);
    expect(failureOf(run)?.message).toContain(`${api.url}/posts`);
    expect(failureOf(run)?.message).toContain('the body cannot be decoded (gzip body:');
  });

  describe('redirects', () => {
    let other: Server;
    let otherUrl: string;
    const seen: { url: string; authorization: string | undefined }[] = [];
    beforeEach(async () => {
      seen.length = 0;
      other = createServer((request, response) => {
        seen.push({ url: request.url ?? '', authorization: request.headers.authorization });
        json(response, { data: [{ id: 'elsewhere' }], meta: { next_cursor: null } });
      });
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', () => resolve()));
      otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    });
    afterEach(
      () =>
        new Promise<void>((resolve) => {
          other.closeAllConnections();
          other.close(() => resolve());
        }),
    );

    it('follows a redirect on the same origin with the credentials', async () => {
      api.script = (request, response) => {
        if (!request.url?.startsWith('/old')) return false;
        // Moved for good, query and all: every page's request goes through it.
        response.writeHead(301, { location: request.url.replace('/old', '/posts') }).end();
        return true;
      };
      const { records } = await collect(
        options({
          auth: { type: 'bearer', token: SECRET },
          resources: [{ name: 'posts', path: '/old', records: '/data' }],
        }),
      );
      expect(records).toHaveLength(6);
      expect(api.requests.map((r) => r.url.split('?')[0])).toEqual([
        '/old',
        '/posts',
        '/old',
        '/posts',
      ]);
      expect(api.requests[1]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    });

    it('follows a redirect to another origin without the credentials', async () => {
      api.script = (_request, response) => {
        response.writeHead(302, { location: `${otherUrl}/mirror` }).end();
        return true;
      };
      const { records } = await collect(options({ auth: { type: 'bearer', token: SECRET } }));
      expect(records.map((r) => r.data)).toEqual([{ id: 'elsewhere' }]);
      expect(seen).toEqual([{ url: '/mirror', authorization: undefined }]);
    });
  });

  // A page the job cannot hold, read whole, takes the process down on every resume: a body that
  // does not end (a proxy streaming a file), or a small gzip body that inflates to gigabytes.
  it('a body that does not end is cut at the limit: the unit fails at once, naming the page and the option', async () => {
    let sent = 0;
    let closed = false;
    api.script = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.on('close', () => {
        closed = true;
      });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const more = () => {
        // Endless, as far as the client can tell: 200 MB, unless the client hangs up first.
        while (!closed && sent < 200 * MB) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
      return true;
    };
    const { run, result, source } = await collect(options({ maxPageBytes: 4 * MB }));
    expect(result.failed).toBe(1);
    const error = run.unit('posts')?.error;
    expect(error?.message).toMatch(
      /resource "posts" \(unit "posts"\), page http:\/\/127\.0\.0\.1:\d+\/posts: the body is larger than maxPageBytes \(4194304 bytes\)/,
    );
    // Not retried: the next try would be as large.
    expect(error?.retryable).toBe(false);
    expect(source.requests).toBe(1);
    // The client hung up long before the server was done.
    expect(sent).toBeLessThan(50 * MB);
  });

  it('a gzip body that inflates past the limit fails the same way', async () => {
    // 40 MB of spaces, 40 KB on the wire.
    const bomb = gzipSync(Buffer.alloc(40 * MB, 0x20));
    expect(bomb.length).toBeLessThan(MB);
    api.script = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(bomb);
      return true;
    };
    const { run, result } = await collect(options({ maxPageBytes: 4 * MB }));
    expect(result.failed).toBe(1);
    expect(run.unit('posts')?.error?.message).toContain(
      'the body is larger than maxPageBytes (4194304 bytes)',
    );
  });

  it('pages under the limit are read as before, compressed or not', async () => {
    const page = Buffer.from(
      JSON.stringify({ data: [{ id: 1, text: 'x'.repeat(3 * MB) }], meta: { next_cursor: null } }),
    );
    let n = 0;
    api.script = (_request, response) => {
      n += 1;
      const gzip = n % 2 === 0;
      response.writeHead(200, {
        'content-type': 'application/json',
        ...(gzip && { 'content-encoding': 'gzip' }),
      });
      response.end(gzip ? gzipSync(page) : page);
      return true;
    };
    for (let i = 0; i < 2; i++) {
      const { records, result } = await collect(options({ maxPageBytes: 4 * MB }));
      expect(result.failed).toBe(0);
      expect(records).toHaveLength(1);
    }
    expect(n).toBe(2);
  });
});

describe('a dispatcher of your own', () => {
  it("sends every request through it (here undici's MockAgent, no server at all)", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const pool = agent.get('https://api.example.test');
    pool.intercept({ path: '/items', method: 'GET' }).reply(
      200,
      { data: [{ id: 1 }], meta: { next_cursor: 'b' } },
      {
        headers: { 'content-type': 'application/json' },
      },
    );
    pool.intercept({ path: '/items?cursor=b', method: 'GET' }).reply(
      200,
      { data: [{ id: 2 }], meta: { next_cursor: null } },
      {
        headers: { 'content-type': 'application/json' },
      },
    );
    try {
      const { records } = await collect({
        baseUrl: 'https://api.example.test',
        dispatcher: agent,
        paginator: bodyCursor({ pointer: '/meta/next_cursor', param: 'cursor' }),
        resources: [{ name: 'items', path: '/items', records: '/data' }],
      });
      expect(records.map((r) => r.data)).toEqual([{ id: 1 }, { id: 2 }]);
      agent.assertNoPendingInterceptors();
    } finally {
      await agent.close();
    }
  });
});
