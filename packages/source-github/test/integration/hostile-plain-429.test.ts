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
 * A 429 without GitHub's "secondary rate limit" message, as proxies in front of GitHub
 * Enterprise send them: a rate limit all the same, waited for as the server says.
 */

const start = hostileServers();
const unit = 'repos/acme/api/issues';
const tooMany = { message: 'Too Many Requests' };

/**
 * The issues list answers `limited` times with a plain 429 and these headers (a function is
 * called per request), then the page; `at` holds when each list request came.
 */
async function plain429(limited: number, headers: () => Record<string, string>, body = tooMany) {
  const at: number[] = [];
  const api = await start((_request, response, path) => {
    if (path === '/repos/acme/api') return reply(response, REPOSITORY);
    at.push(Date.now());
    if (at.length <= limited) return reply(response, body, headers(), 429);
    reply(response, [issue(1), issue(2)]);
  });
  return { api, at };
}

const waits = (lines: string[]) => lines.filter((line) => /waiting \d+ s/.test(line));

describe('a plain 429', () => {
  it('honours its retry-after in seconds, then reads the page', async () => {
    const { api, at } = await plain429(1, () => ({ 'retry-after': '1' }));
    // Real seconds: the one test that checks the wait happens, not only that it is decided.
    const { result, sink } = await collectFrom(api.url, { retryAfterBaseMs: 1000 });
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    expect(sink.records.filter((r) => r.endpoint === 'issues')).toHaveLength(2);
    expect(at).toHaveLength(2);
    expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(1000);
  });

  it('honours a retry-after given as an HTTP date', async () => {
    const { api } = await plain429(1, () => ({
      'retry-after': new Date(Date.now() + 120_000).toUTCString(),
    }));
    const { result, log } = await collectFrom(api.url, {});
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    const [line] = waits(log.lines);
    const seconds = Number(/waiting (\d+) s/.exec(line ?? '')?.[1]);
    // An HTTP date has whole seconds, and the clock moved on since: 118 to 120.
    expect(seconds).toBeGreaterThanOrEqual(118);
    expect(seconds).toBeLessThanOrEqual(120);
  });

  it('without retry-after, waits for its x-ratelimit-reset', async () => {
    const { api } = await plain429(1, () => ({
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 100),
    }));
    const { result, log } = await collectFrom(api.url, {});
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    const seconds = Number(/waiting (\d+) s/.exec(waits(log.lines)[0] ?? '')?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(99);
    // A second past the reset, as the throttling plugin waits for one.
    expect(seconds).toBeLessThanOrEqual(101);
  });

  it('without any header, waits the fallback of 60 s, a bounded number of times', async () => {
    const { api, at } = await plain429(Number.POSITIVE_INFINITY, () => ({}), {
      message: '',
    });
    const { result, run, log } = await collectFrom(api.url, { secondaryRetries: 2 });
    expect(at).toHaveLength(3);
    expect(waits(log.lines)).toHaveLength(2);
    expect(waits(log.lines)[0]).toContain('waiting 60 s');
    expect(result).toMatchObject({ failed: 1 });
    const error = run.unit(unit)?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(/429 rate limited \(Too Many Requests\)/);
    expect(error?.message).toMatch(/60 s/);
    expect(error?.message).not.toMatch(/retries exhausted/);
  });

  it('asking for longer than maxResetWait is not waited for; the unit says for how long it was limited', async () => {
    const { api, at } = await plain429(Number.POSITIVE_INFINITY, () => ({ 'retry-after': '3600' }));
    const { result, run, log } = await collectFrom(api.url, { maxResetWait: 600 });
    expect(at).toHaveLength(1);
    expect(result).toMatchObject({ failed: 1 });
    expect(log.lines.join('\n')).toMatch(
      /rate limit \(429\) on GET .*: retry-after 3600 s is beyond maxResetWait \(600 s\)/,
    );
    const error = run.unit(unit)?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(/429 rate limited \(Too Many Requests\).*3600 s/);
    expect(error?.message).not.toMatch(/retries exhausted/);
    expect(JSON.stringify(error)).not.toContain(HOSTILE_TOKEN);
  });

  it('with an HTML body is a rate limit too', async () => {
    const page = '<html><head><title>429 Too Many Requests</title></head><body>nginx</body></html>';
    const { api, at } = await plain429(1, () => ({ 'retry-after': '2' }), page as never);
    const { result, log } = await collectFrom(api.url, {});
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    expect(at).toHaveLength(2);
    expect(waits(log.lines)[0]).toContain('waiting 2 s');
  });
});
