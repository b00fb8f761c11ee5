import { describe, expect, it } from 'vitest';
import {
  collectFrom,
  HOSTILE_TOKEN,
  hostileServers,
  issue,
  REPOSITORY,
  reply,
} from '../hostile.js';

/**
 * `retry-after` as servers in front of GitHub Enterprise send it: with a 5xx (a load balancer
 * draining a node), and in forms that are no delay at all.
 */

const start = hostileServers();
const unit = 'repos/acme/api/issues';

/**
 * The issues list answers `failing` times with `status` and these headers (a function is called
 * per request), then the page; `at` holds when each list request came.
 */
async function failingList(
  failing: number,
  status: number,
  headers: () => Record<string, string>,
  body: unknown = { message: 'Service Unavailable' },
) {
  const at: number[] = [];
  const api = await start((_request, response, path) => {
    if (path === '/repos/acme/api') return reply(response, REPOSITORY);
    at.push(Date.now());
    if (at.length <= failing) return reply(response, body, headers(), status);
    reply(response, [issue(1), issue(2)]);
  });
  return { api, at };
}

const gap = (at: number[], i: number) => (at[i] as number) - (at[i - 1] as number);
const waits = (lines: string[]) => lines.filter((line) => /waiting \d+ s/.test(line));

describe('a 5xx with retry-after', () => {
  it('is retried after the wait it asks, not the backoff', async () => {
    const { api, at } = await failingList(1, 503, () => ({ 'retry-after': '2' }));
    // Half-seconds: the server asks for 1 s, the backoff before the first retry is 0.5 s.
    const { result, sink } = await collectFrom(api.url, { retryAfterBaseMs: 500 });
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    expect(sink.records.filter((r) => r.endpoint === 'issues')).toHaveLength(2);
    expect(at).toHaveLength(2);
    expect(gap(at, 1)).toBeGreaterThanOrEqual(1000);
  });

  it('given as an HTTP date is honoured too', async () => {
    const { api, at } = await failingList(1, 502, () => ({
      'retry-after': new Date(Date.now() + 120_000).toUTCString(),
    }));
    const { result, log } = await collectFrom(api.url, {});
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    const [line] = waits(log.lines);
    expect(line).toMatch(/^502 on GET \/repos\/acme\/api\/issues\?.*: waiting \d+ s/);
    const seconds = Number(/waiting (\d+) s/.exec(line ?? '')?.[1]);
    // An HTTP date has whole seconds, and the clock moved on since: 118 to 120.
    expect(seconds).toBeGreaterThanOrEqual(118);
    expect(seconds).toBeLessThanOrEqual(120);
    // At the tests' 1 ms per second: 118 ms at least, where the backoff is 1 ms.
    expect(gap(at, 1)).toBeGreaterThanOrEqual(118);
  });

  it('is retried `retries` times, each after the wait asked', async () => {
    const { api, at } = await failingList(Number.POSITIVE_INFINITY, 504, () => ({
      'retry-after': '50',
    }));
    const { result, run, log } = await collectFrom(api.url, { retries: 2 });
    expect(at).toHaveLength(3);
    // The backoff would be 1 then 4 (ms, at the tests' 1 ms per second).
    expect(gap(at, 1)).toBeGreaterThanOrEqual(50);
    expect(gap(at, 2)).toBeGreaterThanOrEqual(50);
    expect(waits(log.lines)).toEqual([
      expect.stringMatching(/^504 on GET .*: waiting 50 s \(retry-after 50 s; retry 1 of 2\)$/),
      expect.stringMatching(/: waiting 50 s \(retry-after 50 s; retry 2 of 2\)$/),
    ]);
    expect(result).toMatchObject({ failed: 1 });
    const error = run.unit(unit)?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(/: 504 Service Unavailable; the server asks to wait 50 s/);
  });

  it('asking for longer than maxResetWait is not waited for: the unit fails as retryable at once, saying for how long', async () => {
    const { api, at } = await failingList(Number.POSITIVE_INFINITY, 503, () => ({
      'retry-after': '3600',
    }));
    const { result, run, log, storage } = await collectFrom(api.url, { maxResetWait: 600 });
    expect(at).toHaveLength(1);
    expect(result).toMatchObject({ failed: 1 });
    expect(log.lines.join('\n')).toMatch(
      /503 on GET .*: retry-after 3600 s is beyond maxResetWait \(600 s\); not waiting/,
    );
    const error = run.unit(unit)?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(
      /^GET \/repos\/acme\/api\/issues\?.*: 503 Service Unavailable; the server asks to wait 3600 s: retry after /,
    );
    expect(JSON.stringify([...storage.entries])).not.toContain(HOSTILE_TOKEN);
    expect(log.lines.join('\n')).not.toContain(HOSTILE_TOKEN);
  });

  it('echoing the token in its body: neither the log nor the error carries it', async () => {
    const { api } = await failingList(
      Number.POSITIVE_INFINITY,
      503,
      () => ({ 'retry-after': '3600' }),
      { message: `no backend for token ${HOSTILE_TOKEN}` },
    );
    const { run, log, storage } = await collectFrom(api.url, { maxResetWait: 600 });
    expect(run.unit(unit)?.error?.message).toMatch(/\[REDACTED\].*3600 s/);
    expect(JSON.stringify([...storage.entries])).not.toContain(HOSTILE_TOKEN);
    expect(log.lines.join('\n')).not.toContain(HOSTILE_TOKEN);
  });
});

describe('a retry-after that is neither whole seconds nor an HTTP date', () => {
  it.each([
    // More forms in test/unit/retry-after.test.ts.
    ['a bare day', 'May 1'],
    ['negative', '-1'],
  ])('(%s) on a plain 429 is absent: the fallback of 60 s is waited', async (_what, value) => {
    const { api } = await failingList(1, 429, () => ({ 'retry-after': value }), {
      message: 'Too Many Requests',
    });
    const { result, log } = await collectFrom(api.url, {});
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    // Before: `May 1` was a day in 2001, already past: "waiting 1 s".
    expect(waits(log.lines)).toEqual([expect.stringContaining('waiting 60 s')]);
  });

  it('on a plain 429 gives way to its x-ratelimit-reset', async () => {
    const { api } = await failingList(
      1,
      429,
      () => ({
        'retry-after': 'May 1',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 100),
      }),
      { message: 'Too Many Requests' },
    );
    const { log } = await collectFrom(api.url, {});
    const seconds = Number(/waiting (\d+) s/.exec(waits(log.lines)[0] ?? '')?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(99);
    expect(seconds).toBeLessThanOrEqual(101);
  });

  it('on a 503 leaves the backoff as it is', async () => {
    const { api, at } = await failingList(1, 503, () => ({ 'retry-after': 'May 1' }));
    const { result, log } = await collectFrom(api.url, {});
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    expect(at).toHaveLength(2);
    expect(waits(log.lines)).toEqual([]);
  });
});

describe('a retry-after of more seconds than a date holds', () => {
  it.each([
    [429, { message: 'Too Many Requests' }],
    [503, { message: 'Service Unavailable' }],
  ])('(on a %i) fails the unit as retryable, saying how long', async (status, body) => {
    const { api } = await failingList(
      Number.POSITIVE_INFINITY,
      status,
      () => ({ 'retry-after': '99999999999999' }),
      body,
    );
    const { result, run } = await collectFrom(api.url, {});
    expect(result).toMatchObject({ failed: 1 });
    const error = run.unit(unit)?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(/the server asks to wait 99999999999999 s$/);
  });
});
