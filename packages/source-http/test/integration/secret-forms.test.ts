/**
 * Secrets in the forms an API or the user's own code hands them back in: percent-encoded in
 * lowercase (`%2f`), as a form encodes them (`~` as `%7E`), twice over, with a JSON-escaped
 * slash, as character references (`&#x2F;`, `&amp;`); and a custom `auth.apply` that throws an
 * error naming its own key. None reaches a unit's error, the checkpoint or a progress event, and
 * a next URL holding one is never saved.
 */
import {
  AuthenticationError,
  type Json,
  memoryStore,
  openRun,
  type PipelineEvent,
  pipeline,
} from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Auth, type HttpSourceOptions, httpSource, linkHeader } from '../../src/index.js';
import { collect } from '../helpers.js';
import { json } from '../servers/cursor-api.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

/** Every character here but the letters has a percent-encoded form; "kept-OUT" shows a leak. */
const SECRET = 'tok/kept-OUT+b=c~d!e';
const LEAK = 'kept-OUT';
const lower = (text: string) => text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());

const echoes: [string, string][] = [
  ['percent-encoded in lowercase', lower(encodeURIComponent(SECRET))],
  ['form-encoded (~ and ! encoded too)', new URLSearchParams({ k: SECRET }).toString()],
  ['percent-encoded twice', encodeURIComponent(encodeURIComponent(SECRET))],
  ['in mixed case', encodeURIComponent(SECRET).replace('%2F', '%2f')],
  ['JSON-escaped, slash and all', JSON.stringify(SECRET).replaceAll('/', '\\/').slice(1, -1)],
  // As OWASP-style encoders write every character but letters, digits and `-` (an XML error).
  [
    'as hex character references',
    SECRET.replace(/[^\w-]/g, (c) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`),
  ],
  ['as decimal character references', SECRET.replace(/[^\w-]/g, (c) => `&#${c.charCodeAt(0)};`)],
];

describe('secrets in every encoding', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted();
  });
  afterEach(() => api.close());

  const options = (auth: Auth): HttpSourceOptions => ({
    baseUrl: api.url,
    retries: 0,
    auth,
    paginator: linkHeader(),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
  });
  /** Runs the source with progress events kept: what a log would print. */
  const run = async (auth: Auth) => {
    const events: PipelineEvent[] = [];
    const source = httpSource(options(auth));
    const opened = await openRun({
      id: 'forms',
      store: memoryStore(),
      config: source.config,
      signals: false,
    });
    await pipeline({
      run: opened,
      source,
      sink: { write: () => {} },
      signal: source.signal,
      onProgress: (e) => void events.push(e),
    });
    const shown = JSON.stringify({ checkpoint: opened.checkpoint, events });
    return { error: opened.unit('posts')?.error, shown };
  };

  it('an XML error body with the token in named references (&amp;, &lt;...) is redacted', async () => {
    const token = `tok&${LEAK}<"'>`;
    api.handler = (_q, response) => {
      response.writeHead(422, { 'content-type': 'application/xml' });
      response.end(`<error>bad key tok&amp;${LEAK}&lt;&quot;&apos;&gt;</error>`);
    };
    const { error, shown } = await run({ type: 'bearer', token });
    expect(error?.message).toContain('422 Unprocessable Entity');
    expect(error?.message).toContain('bad key ***');
    expect(shown).not.toContain(LEAK);
  });

  for (const [name, echoed] of echoes) {
    it(`an error body with the token ${name} is redacted`, async () => {
      api.handler = (_q, response) => {
        // Written as is: JSON.stringify would escape the JSON-escaped form's backslash again.
        response.writeHead(422, { 'content-type': 'application/json' });
        response.end(`{"error":"bad key ${echoed}"}`);
      };
      const { error, shown } = await run({ type: 'bearer', token: SECRET });
      expect(error?.message).toContain('422 Unprocessable Entity');
      expect(shown).not.toContain(LEAK);
    });
  }

  it('a redirect refused, to a URL with the key in lowercase percent-encoding, is shown without it', async () => {
    api.handler = (_q, response) => {
      response.writeHead(302, {
        location: `ftp://127.0.0.1/?k=${lower(encodeURIComponent(SECRET))}`,
      });
      response.end();
    };
    const { error, shown } = await run({ type: 'query', name: 'key', value: SECRET });
    expect(error?.message).toMatch(
      /redirected to ftp:\/\/127\.0\.0\.1\/\?k=\*\*\*, not an http\(s\) URL/,
    );
    expect(shown).not.toContain(LEAK);
  });

  it('a next link with the key in its path, lowercase-encoded, is not followed or saved', async () => {
    api.handler = (_q, response, n) =>
      n > 1
        ? json(response, { error: 'followed' }, 404)
        : json(response, { data: [{ id: 1 }] }, 200, {
            link: `</t/${lower(encodeURIComponent(SECRET))}/posts?page=2>; rel="next"`,
          });
    const { error, shown } = await run({ type: 'bearer', token: SECRET });
    expect(error?.message).toContain('holds a credential outside its query');
    expect(shown).not.toContain(LEAK);
    expect(api.seen).toHaveLength(1);
  });

  it('a next link that echoes the key in its query, lowercase-encoded, is saved without it', async () => {
    api.handler = (_q, response, n) =>
      json(
        response,
        { data: [{ id: n }] },
        200,
        n > 1
          ? {}
          : {
              link: `</posts?page=2&echo=${lower(encodeURIComponent(SECRET))}>; rel="next"`,
            },
      );
    const { records, run: done } = await collect(options({ type: 'bearer', token: SECRET }));
    expect(records).toHaveLength(2);
    expect(api.seen[1]?.url).toBe('/posts?page=2');
    expect(JSON.stringify(done.checkpoint)).not.toContain(LEAK);
  });
});

describe('a custom auth.apply that throws', () => {
  let api: Scripted;
  beforeEach(async () => {
    api = await startScripted((_q, response) => json(response, { data: [{ id: 1 }] }));
  });
  afterEach(() => api.close());

  const throwing: [string, () => never][] = [
    [
      'an Error naming the key',
      () => {
        throw new Error(`cannot sign with ${SECRET}: clock skew`);
      },
    ],
    [
      'a string with the key, URL-encoded',
      () => {
        throw `bad key ${encodeURIComponent(SECRET)}`;
      },
    ],
    [
      'an Error whose structured cause holds the key',
      () => {
        throw Object.assign(new Error('signing failed'), {
          failureCause: { url: `https://vault.example/?k=${SECRET}` },
          cause: new Error(SECRET),
        });
      },
    ],
  ];
  for (const [name, apply] of throwing) {
    it(`${name}: the unit fails naming auth.apply, and the key reaches no error, checkpoint or event`, async () => {
      const events: PipelineEvent[] = [];
      const source = httpSource({
        baseUrl: api.url,
        retries: 0,
        auth: { type: 'custom', apply, secrets: [SECRET] },
        resources: [{ name: 'posts', path: '/posts', records: '/data' }],
      });
      const run = await openRun({
        id: 'apply',
        store: memoryStore(),
        config: source.config,
        signals: false,
      });
      const result = await pipeline({
        run,
        source,
        sink: { write: () => {} },
        signal: source.signal,
        onProgress: (e) => void events.push(e),
      });
      expect(result.failed).toBe(1);
      const error = run.unit('posts')?.error;
      expect(error?.message).toMatch(
        /resource "posts" \(unit "posts"\), page http:\/\/127\.0\.0\.1:\d+\/posts: auth\.apply threw/,
      );
      expect(
        JSON.stringify({ checkpoint: run.checkpoint as unknown as Json, events }),
      ).not.toContain(LEAK);
      expect(api.seen).toHaveLength(0);
    });
  }

  it("a custom paginator's error quoting a Link header that echoes the key: the key is taken out", async () => {
    api.handler = (_q, response) =>
      json(response, { data: [{ id: 1 }] }, 200, {
        link: `</posts?key=${lower(encodeURIComponent(SECRET))}>; rel="next"`,
      });
    const { result, run } = await collect({
      baseUrl: api.url,
      auth: { type: 'query', name: 'key', value: SECRET },
      resources: [{ name: 'posts', path: '/posts', records: '/data' }],
      paginator: {
        describe: { type: 'mine' },
        next: ({ headers }) => {
          throw Object.assign(new Error(`cannot follow ${headers.get('link')}`), {
            retryable: false,
          });
        },
      },
    });
    expect(result.failed).toBe(1);
    expect(run.unit('posts')?.error).toMatchObject({ retryable: false });
    expect(run.unit('posts')?.error?.message).toMatch(/^cannot follow <\/posts\?key=\*\*\*>/);
    expect(JSON.stringify(run.checkpoint)).not.toContain(LEAK);
  });

  it('an AuthenticationError naming the key still stops the run, without the key', async () => {
    const source = httpSource({
      baseUrl: api.url,
      auth: {
        type: 'custom',
        apply: () => {
          throw new AuthenticationError('vault', `token ${SECRET} revoked`, 'renew it');
        },
        secrets: [SECRET],
      },
      resources: [{ name: 'posts', path: '/posts', records: '/data' }],
    });
    const run = await openRun({
      id: 'refused',
      store: memoryStore(),
      config: source.config,
      signals: false,
    });
    const stopped = pipeline({ run, source, sink: { write: () => {} }, signal: source.signal });
    await expect(stopped).rejects.toBeInstanceOf(AuthenticationError);
    const error = (await stopped.catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('auth.apply for resource "posts"');
    expect(error.message).not.toContain(LEAK);
    expect(run.unit('posts')?.error).toBeNull();
    expect(source.signal.aborted).toBe(true);
  });
});
