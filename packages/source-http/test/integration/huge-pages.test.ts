/**
 * A page the job cannot hold: a body that does not end (a proxy streaming a file, a broken
 * export), or a small gzip body that inflates to gigabytes. Read whole, either one takes the
 * job's process down with it (out of memory, or V8's longest string), on every resume, and the
 * job can never get past that page. The source reads at most `maxPageBytes` of a page, decoded,
 * and fails the unit with an error that names the page and the option.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyCursor, type HttpSourceOptions } from '../../src/index.js';
import { collect } from '../helpers.js';
import { type CursorApi, startCursorApi } from '../servers/cursor-api.js';

const MB = 1024 * 1024;

describe('pages larger than maxPageBytes', () => {
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
