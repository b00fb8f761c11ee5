import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  collectFrom,
  everythingStored,
  HOSTILE_TOKEN,
  hostileServers,
  issue,
  REPOSITORY,
  reply,
} from '../hostile.js';

/**
 * Hostile answers: 200 bodies of the wrong shape, the token echoed back (also in the form octokit
 * sends it), and error pages that are not GitHub's JSON.
 */

const start = hostileServers();

const unit = 'repos/acme/api/issues';

describe('a 200 body', () => {
  it.each([
    ['an HTML page', '<html><body>Service Unavailable</body></html>', /not a JSON array/],
    ['an object', { message: 'Moved', documentation_url: 'x' }, /not a JSON array/],
    ['items that are not objects', [issue(1), null, 7], /item 1 is empty, not an object/],
    [
      'items without id',
      [{ updated_at: '2024-01-02T00:00:00Z' }, { updated_at: '2024-01-01T00:00:00Z' }],
      /item 0 has no "id"/,
    ],
  ])(
    '%s where a list is expected: the unit fails, nothing is delivered',
    async (_what, body, reason) => {
      const api = await start((_request, response, path) => {
        if (path === '/repos/acme/api') return reply(response, REPOSITORY);
        reply(response, body);
      });
      const { result, run, sink } = await collectFrom(api.url, {});
      // Before: the page or its first item went to the sink as a record (an id-less second item
      // was dropped, and the cursor's `seen: [null]` failed the resume).
      expect(sink.records.filter((r) => r.endpoint === 'issues')).toEqual([]);
      expect(result).toMatchObject({ failed: 1 });
      const error = run.unit(unit)?.error;
      expect(error).toMatchObject({ retryable: true });
      expect(error?.message).toMatch(reason);
    },
  );

  it('a list where the repository is expected: its discovery fails', async () => {
    const api = await start((_request, response) => reply(response, []));
    const { result, run } = await collectFrom(api.url, {});
    // Before: the discovery completed with nothing, as if the repository had no endpoints.
    expect(result).toMatchObject({ failed: 1 });
    expect(run.unit('discover/acme/api')?.error?.message).toMatch(/not a JSON object/);
  });
});

describe('a body without end', () => {
  it('is read no further than maxResponseBytes: the unit fails as retryable, naming the option', async () => {
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, ' ');
    const api = await start((_request, response, path) => {
      if (path === '/repos/acme/api') return reply(response, REPOSITORY);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('[');
      // Until the client hangs up; the guard for the code before the fix, which read on: 64 MiB.
      const more = () => {
        while (sent < 64 * 1024 * 1024 && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
        response.end(']');
      };
      more();
    });
    const { result, run } = await collectFrom(api.url, {
      maxResponseBytes: 1024 * 1024,
      retries: 1,
    });
    expect(result).toMatchObject({ failed: 1 });
    const error = run.unit(unit)?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(
      /network error the body is larger than maxResponseBytes \(1048576 bytes\)/,
    );
    // Two attempts of about 1 MiB each, plus what was in flight when the client hung up.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('the token echoed by the server', () => {
  /** Answers the issues list with the token echoed `where`. */
  const echo = (response: ServerResponse, path: string, where: string, base: string) => {
    if (path.includes(HOSTILE_TOKEN)) return reply(response, [issue(2)]);
    switch (where) {
      case 'etag':
        return reply(response, [issue(1)], { etag: `W/"${HOSTILE_TOKEN}"` });
      case 'link':
        return reply(response, [issue(1)], {
          link: `<${base}/repositories/1/issues?page=2&access_token=${HOSTILE_TOKEN}>; rel="next"`,
        });
      case 'id':
        return reply(response, [{ ...issue(1), id: HOSTILE_TOKEN }]);
      case 'time':
        return reply(response, [{ ...issue(1), updated_at: HOSTILE_TOKEN }]);
      case 'redirect':
        response.writeHead(301, { location: `${base}/repositories/${HOSTILE_TOKEN}/issues` });
        return response.end();
      case 'rate-limit resource':
        return reply(
          response,
          { message: 'API rate limit exceeded' },
          {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-limit': '60',
            'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 7200),
            'x-ratelimit-resource': HOSTILE_TOKEN,
          },
          403,
        );
    }
  };

  it.each(['etag', 'link', 'id', 'time', 'redirect', 'rate-limit resource'])(
    'in the %s: never reaches the checkpoint, a log line or an error',
    async (where) => {
      const api = await start((_request, response, path) => {
        if (path === '/repos/acme/api') return reply(response, REPOSITORY);
        echo(response, path, where, api.url);
      });
      const { run, log, storage, source } = await collectFrom(api.url, {});
      const texts = [
        everythingStored(storage),
        ...log.lines,
        String((source.signal.reason as Error | undefined)?.message),
        ...Object.values(run.checkpoint.units).map((u) => JSON.stringify(u.error)),
      ];
      expect(texts[0]).toContain(unit);
      for (const text of texts) expect(text).not.toContain(HOSTILE_TOKEN);
    },
  );

  it('in a repository name of an organization: the discovery fails, no unit holds it', async () => {
    const api = await start((_request, response) =>
      reply(response, [
        { id: 1, full_name: 'acme/api', updated_at: '2024-01-01T00:00:00Z' },
        { id: 2, full_name: `acme/${HOSTILE_TOKEN}`, updated_at: '2024-01-01T00:00:00Z' },
      ]),
    );
    const { result, run, storage } = await collectFrom(api.url, {
      repos: undefined,
      org: 'acme',
      endpoints: ['issues'],
    });
    expect(everythingStored(storage)).not.toContain(HOSTILE_TOKEN);
    expect(result).toMatchObject({ failed: 1 });
    expect(run.unit('discover/acme')?.error?.message).toMatch(/token/);
  });
});

/**
 * Tokens given the way people paste them: with the `token ` or `bearer ` prefix that octokit
 * strips before it sends them. The server gets the bare token; a server that echoes it back must
 * get it redacted. (A token with a file's newline is refused when the source is made: see
 * test/unit/hostile-secrets.test.ts.)
 */

const BARE = {
  classic: 'ghp_FORMS0CANARY0token0source0github0000',
  fineGrained: `github_pat_11FORMS0CANARY0${'A'.repeat(20)}_${'b'.repeat(59)}`,
  app: 'ghs_FORMS0CANARY0installation0token00000',
  hex: 'a3f1c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a1',
};

describe('a token given with a prefix', () => {
  it.each([
    ['a classic token after "token "', 'token ', BARE.classic, ''],
    ['a fine-grained token after "Bearer "', 'Bearer ', BARE.fineGrained, ''],
    ['an app token after "bearer "', 'bearer ', BARE.app, ''],
    ['a 40-hex token after "TOKEN  "', 'TOKEN  ', BARE.hex, ''],
  ])(
    '%s: the bare token echoed back reaches no checkpoint, log or error',
    async (_what, before, bare, after) => {
      const api = await start((_request, response, path) => {
        if (path === '/repos/acme/api') return reply(response, REPOSITORY);
        // An ETag the cursor would keep, and an error text a message would carry.
        if (path.startsWith('/repos/acme/api/issues'))
          return reply(response, [issue(1)], { etag: `"${bare}"` });
        reply(response, { message: `token ${bare} may not read this` }, {}, 404);
      });
      const { run, log, storage, result } = await collectFrom(api.url, {
        auth: `${before}${bare}${after}`,
        endpoints: ['issues', 'pulls'],
      });
      // What octokit sent: the bare token.
      expect(api.received.map((r) => r.authorization)).toContain(`token ${bare}`);
      // Before: only the string as given was redacted, so the issues unit completed with the
      // ETag (the token) in its cursor, and the pulls unit's error carried it.
      expect(result).toMatchObject({ failed: 2 });
      expect(run.unit('repos/acme/api/issues')?.error?.message).toMatch(/echoed the token into/);
      expect(run.unit('repos/acme/api/pulls')?.error?.message).toContain(
        'token [REDACTED] may not',
      );
      const texts = [
        everythingStored(storage),
        ...log.lines,
        ...Object.values(run.checkpoint.units).map((u) => JSON.stringify(u.error)),
      ];
      for (const text of texts) expect(text).not.toContain(bare);
    },
  );
});

/** nginx's own 502 page, byte for byte. */
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
/** A page with styles, far longer than a message should be. */
const BIG_404 = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>\n  Page not found · GitHub Enterprise\n</title><style>${'body{margin:0}'.repeat(80)}</style></head><body><h1>404</h1></body></html>`;

const firstPage = '/repos/acme/api/issues?state=all&sort=updated&direction=desc&per_page=2';

describe('an HTML error page', () => {
  it.each([
    [
      502,
      NGINX_502,
      true,
      `GET ${firstPage}: 502 Bad Gateway (an HTML page titled "502 Bad Gateway", not GitHub's JSON)`,
    ],
    [
      404,
      BIG_404,
      false,
      `GET ${firstPage}: 404 Not Found (an HTML page titled "Page not found · GitHub Enterprise", not GitHub's JSON) (not retryable)`,
    ],
  ])(
    '%i: the message names the status and the page title, not its markup',
    async (status, page, retryable, message) => {
      const api = await start((_request, response, path) => {
        if (path === '/repos/acme/api') return reply(response, REPOSITORY);
        reply(response, page, {}, status);
      });
      const { run } = await collectFrom(api.url, { retries: 0 });
      // Before: the message was the page's first 500 characters, markup and line breaks included.
      expect(run.unit('repos/acme/api/issues')?.error).toMatchObject({ retryable, message });
    },
  );
});
