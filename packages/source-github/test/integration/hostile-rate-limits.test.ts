import { describe, expect, it } from 'vitest';
import { memoryLog } from '../helpers.js';
import { collectFrom, hostileServers, issue, REPOSITORY, reply } from '../hostile.js';

/** Rate-limit headers no sane GitHub sends: every wait stays bounded, no timer overflows. */

const start = hostileServers();

const unit = 'repos/acme/api/issues';
const secondary = {
  message: 'You have exceeded a secondary rate limit. Please wait a few minutes.',
};

/** A server whose issues list answers every request with a secondary limit and this retry-after. */
async function secondaryServer(retryAfter: string) {
  let lists = 0;
  const api = await start((_request, response, path) => {
    if (path === '/repos/acme/api') return reply(response, REPOSITORY);
    lists += 1;
    reply(response, secondary, { 'retry-after': retryAfter }, 403);
  });
  return { api, lists: () => lists };
}

describe('a secondary limit', () => {
  it('whose retry-after is days away is not waited for: the unit fails as retryable at once', async () => {
    // 10^8 s: at the tests' 1 ms per second that is 28 hours; in production 3 years.
    const { api, lists } = await secondaryServer('100000000');
    const log = memoryLog();
    const decided = new Promise<string>((resolve) => {
      const warn = log.warn;
      log.warn = (message, ...rest) => {
        warn(message, ...rest);
        if (message.includes('secondary rate limit')) resolve(message);
      };
    });
    const collecting = collectFrom(api.url, { log });
    // Bounded by the event, not the clock: the first decision is logged before any wait.
    // Before: "waiting 100000000 s (retry 1 of 3)", and the collection hung for that long.
    expect(await decided).toMatch(/retry-after 100000000 s is beyond maxResetWait \(900 s\)/);
    const { result, run } = await collecting;
    expect(result).toMatchObject({ failed: 1 });
    expect(run.unit(unit)?.error).toMatchObject({ retryable: true });
    expect(lists()).toBe(1);
  });

  it.each([['past what a timer holds', '3000000', 1000]])(
    'whose retry-after is %s is not retried at once: no timer overflow',
    async (_what, retryAfter, base) => {
      const { api, lists } = await secondaryServer(retryAfter);
      const log = memoryLog();
      const { result } = await collectFrom(api.url, { log, retryAfterBaseMs: base });
      // Before: Node fired the overflowing timer after 1 ms, so every retry came at once (4 requests).
      expect(lists()).toBe(1);
      expect(result).toMatchObject({ failed: 1 });
      expect(log.lines.join('\n')).not.toMatch(/waiting (Infinity|3000000) s/);
    },
  );

  it.each([
    ['negative', '-5'],
    ['not a number', 'soon'],
    // No whole number of seconds, so absent (60 s): it was read as Infinity.
    ['infinite', '1e400'],
  ])('whose retry-after is %s is retried a bounded number of times', async (_what, retryAfter) => {
    const { api, lists } = await secondaryServer(retryAfter);
    const { result } = await collectFrom(api.url, { secondaryRetries: 2 });
    expect(lists()).toBe(3);
    expect(result).toMatchObject({ failed: 1 });
  });
});

describe('a primary limit', () => {
  it.each([
    ['in the past', () => String(Math.floor(Date.now() / 1000) - 3600)],
    ['unreadable', () => 'soon'],
    ['in the year 3000', () => '32503680000'],
  ])('whose reset is %s: at most one more request, then the source stops', async (_what, reset) => {
    let lists = 0;
    const api = await start((_request, response, path) => {
      if (path === '/repos/acme/api') return reply(response, REPOSITORY);
      lists += 1;
      reply(
        response,
        { message: 'API rate limit exceeded' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-limit': '60', 'x-ratelimit-reset': reset() },
        403,
      );
    });
    const { result, source } = await collectFrom(api.url, {});
    expect(lists).toBeLessThanOrEqual(2);
    expect(result).toMatchObject({ aborted: true });
    expect(String((source.signal.reason as Error).message)).toMatch(/resume after/);
  });
});

void issue;
