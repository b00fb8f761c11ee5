/**
 * An HTML page where JSON was expected: a maintenance page served with 200, a load balancer's
 * 503 page, a proxy's error page labelled as JSON. The unit's error says so in a line a person
 * can read (the page's title, no markup), and the page is tried again when the server says it
 * is temporary (Retry-After, a 5xx); nothing of it is taken for records.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyCursor, type HttpSourceOptions } from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const PAGE = { data: [{ id: 1 }, { id: 2 }], next: null };
const SECRET = 'tok_html-echo-0123456789';
/** A maintenance page as nginx or a CDN serves one: long, styled, scripted, entities and all. */
const MAINTENANCE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Service under maintenance &amp; upgrade</title>
<style>body{font-family:sans-serif;margin:0 auto;max-width:40em}${'.x{color:red}'.repeat(40)}</style>
<script>window.dataLayer=[{"token":"${SECRET}"}];</script></head>
<body><h1>We&#39;ll be back soon</h1><p>${'Sorry for the inconvenience. '.repeat(20)}</p></body></html>`;

describe('an HTML page instead of JSON', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted((_request, response) => json(response, PAGE));
  });
  afterEach(() => api.close());

  const options = (over: Partial<HttpSourceOptions> = {}): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 1,
    maxRetryDelay: 2_000,
    auth: { type: 'bearer', token: SECRET },
    paginator: bodyCursor({ pointer: '/next', param: 'cursor' }),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    ...over,
  });
  const html = (status: number, headers: Record<string, string> = {}, type = 'text/html') =>
    ((_request, response) => {
      response.writeHead(status, { 'content-type': type, ...headers });
      response.end(MAINTENANCE);
    }) satisfies Scripted['handler'];
  /** The message says what came, briefly: the title, no markup, no secret. */
  const readable = (message: string | undefined) => {
    expect(message).toContain('an HTML page');
    expect(message).toContain('"Service under maintenance & upgrade"');
    expect(message).not.toMatch(/[<>]|&amp;|font-family|Sorry/);
    expect(message).not.toContain(SECRET);
    expect(message?.length).toBeLessThan(300);
  };

  it('a 200 maintenance page: the unit fails once, retryable by the next run, saying so briefly', async () => {
    api.handler = html(200);
    const { records, run } = await collect(options());
    expect(records).toEqual([]);
    // Nothing in the answer says when to come back: not tried again in this run.
    expect(api.seen).toHaveLength(1);
    expect(run.unit('posts')?.error?.retryable).toBe(true);
    readable(run.unit('posts')?.error?.message);
  });

  it('a 200 maintenance page with Retry-After is waited out and tried again', async () => {
    const page = html(200, { 'retry-after': '0' });
    api.handler = (request, response, n) =>
      n === 1 ? page(request, response) : json(response, PAGE);
    const { records, run } = await collect(options());
    expect(run.unit('posts')?.error).toBeNull();
    expect(records.map((r) => r.data)).toEqual(PAGE.data);
    expect(api.seen).toHaveLength(2);
  });

  it('a 503 maintenance page is tried again, and reported briefly when it stays', async () => {
    api.handler = html(503);
    const { run } = await collect(options());
    expect(api.seen).toHaveLength(2);
    expect(run.unit('posts')?.error?.retryable).toBe(true);
    expect(run.unit('posts')?.error?.message).toContain('503 Service Unavailable');
    readable(run.unit('posts')?.error?.message);
  });

  it('an HTML page labelled application/json is still told as HTML', async () => {
    api.handler = html(200, {}, 'application/json');
    const { run } = await collect(options());
    readable(run.unit('posts')?.error?.message);
  });
});
