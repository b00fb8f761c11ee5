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

/** Hostile answers with status 200: bodies of the wrong shape, and the token echoed back. */

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
