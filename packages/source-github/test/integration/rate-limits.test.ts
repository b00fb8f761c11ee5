import { MemoryStorage, memoryStore, onRateLimit } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitExhaustedError } from '../../src/index.js';
import type { FixtureServer } from '../../src/testing/index.js';
import { collect, memoryLog, recordingSink, startServer } from '../helpers.js';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const issues = {
  repos: ['octokit-fixture-org/hello-world'],
  endpoints: ['issues' as const],
  perPage: 2,
};
const org = {
  org: 'octokit-fixture-org',
  endpoints: ['pulls' as const, 'issues' as const, 'commits' as const],
  perPage: 2,
};
const issuesUnit = 'repos/octokit-fixture-org/hello-world/issues';

describe('primary rate limit', () => {
  it('stops with "resume after HH:MM" when the reset is further than maxResetWait, then resumes at the page it stopped at', async () => {
    const now = new Date();
    const baseUrl = await server.load('primary-stop', { now });
    const storage = new MemoryStorage();
    const sink = recordingSink();
    const log = memoryLog();
    const first = await collect({
      server,
      baseUrl,
      storage,
      sink,
      log,
      source: { ...issues, maxResetWait: 600, now: () => now },
    });
    expect(first.result).toMatchObject({ aborted: true, failed: 0 });
    const reason = first.source.signal.reason as RateLimitExhaustedError;
    expect(reason).toBeInstanceOf(RateLimitExhaustedError);
    const reset = new Date((Math.floor(now.getTime() / 1000) + 7200) * 1000).toISOString();
    const hhmm = reset.slice(11, 16);
    expect(reason.message).toMatch(new RegExp(`resume after (\\d{4}-\\d\\d-\\d\\d )?${hhmm} UTC`));
    expect(reason.message).toContain('core: 0 of 5000 left');
    expect(reason.resetAt).toBe(reset);
    expect(log.lines.join('\n')).toContain('not waiting');
    // flushed: the unit waits at page 2, resumable
    const saved = await memoryStore(storage).load('github');
    expect(saved?.units[issuesUnit]).toMatchObject({ status: 'in_progress', done: 2, error: null });
    expect(sink.records).toHaveLength(3);

    const second = await collect({ server, baseUrl, storage, sink, source: issues });
    expect(second.result).toMatchObject({ aborted: false, failed: 0, completed: 1 });
    expect(sink.records).toHaveLength(5);
    expect(await server.pending(baseUrl)).toEqual([]);
  });

  it('fails the units it reaches afterwards without a request when the pipeline is not stopped by its signal', async () => {
    const now = new Date();
    const baseUrl = await server.load('primary-stop', { now });
    const storage = new MemoryStorage();
    const log = memoryLog();
    const { result, run } = await collect({
      server,
      baseUrl,
      storage,
      log,
      source: { ...issues, endpoints: ['issues', 'pulls'], maxResetWait: 600 },
      ignoreSourceSignal: true,
    });
    expect(result).toMatchObject({ aborted: false, failed: 2 });
    expect(run.unit(issuesUnit)?.error).toMatchObject({ retryable: true });
    expect(run.unit(issuesUnit)?.error?.message).toContain('resume after');
    expect(run.unit('repos/octokit-fixture-org/hello-world/pulls')?.error?.message).toContain(
      'resume after',
    );
    // the pulls unit made no request: the next one expected is still the issues' page 2
    expect((await server.pending(baseUrl))[0]).toContain('/repositories/1000/issues');
  });

  it('waits for a reset nearer than maxResetWait, then reads on', async () => {
    const baseUrl = await server.load('primary-wait');
    const log = memoryLog();
    const { result, sink } = await collect({
      server,
      baseUrl,
      log,
      source: { ...issues, maxResetWait: 60 },
    });
    expect(result).toMatchObject({ aborted: false, failed: 0, completed: 2 });
    expect(sink.records).toHaveLength(5);
    expect(log.lines.join('\n')).toMatch(/waiting [23] s for the reset/);
    expect(await server.pending(baseUrl)).toEqual([]);
  });
});

describe('secondary rate limits', () => {
  it('honour retry-after, and wait 60 s when it is absent (403 and 429)', async () => {
    const baseUrl = await server.load('secondary');
    const log = memoryLog();
    const { result, sink } = await collect({ server, baseUrl, log, source: issues });
    expect(result).toMatchObject({ failed: 0, completed: 2 });
    expect(sink.records).toHaveLength(5);
    const lines = log.lines.filter((line) => line.includes('secondary rate limit'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('waiting 3 s (retry 1 of 3)');
    expect(lines[1]).toContain('waiting 60 s (retry 2 of 3)');
    expect(await server.pending(baseUrl)).toEqual([]);
  });

  it('fail the unit as retryable after the bounded retries; the next run reads on from its cursor', async () => {
    const baseUrl = await server.load('secondary-exhausted');
    const storage = new MemoryStorage();
    const sink = recordingSink();
    const first = await collect({ server, baseUrl, storage, sink, source: issues });
    expect(first.result).toMatchObject({ failed: 1 });
    const unit = first.run.unit(issuesUnit);
    expect(unit).toMatchObject({ status: 'failed', done: 2, error: { retryable: true } });
    expect(unit?.error?.message).toMatch(/403 secondary rate limit, retries exhausted/);
    const second = await collect({ server, baseUrl, storage, sink, source: issues });
    expect(second.result).toMatchObject({ failed: 0, completed: 1 });
    expect(sink.records).toHaveLength(5);
    expect(await server.pending(baseUrl)).toEqual([]);
  });
});

describe('rate-limit reporting', () => {
  it("reports every page's limit to the run, so an onRateLimit strategy flushes before the limit runs out", async () => {
    const baseUrl = await server.load('org');
    const storage = new MemoryStorage();
    const reported: Array<number | undefined> = [];
    const crashed = await collect({
      server,
      baseUrl,
      storage,
      strategy: onRateLimit(0.2),
      source: org,
      onEvent: (event, run) => {
        if (event.type === 'page') reported.push(run.checkpoint.meta.saveCount);
      },
      crashAfterPage: 4,
    });
    expect(crashed.crashed).toBe(true);
    const saved = await memoryStore(storage).load('github');
    // 1003 left at the first request: the 4th page (1000 of 5000) is the first at 20%.
    expect(reported).toEqual([0, 0, 0, 1]);
    expect(saved?.meta.lastSaveReason).toBe(
      'Rate-limit: 1000/5000 (20.0% remaining <= 20.0% threshold)',
    );
    expect(saved?.units['repos/octokit-fixture-org/repo-a/pulls']?.cursor).toMatchObject({
      next: expect.stringContaining('/repositories/1001/pulls?'),
    });
    const resumed = await collect({ server, baseUrl, storage, source: org });
    expect(resumed.result?.failed).toBe(0);
    expect(await server.pending(baseUrl)).toEqual([]);
  });
});
