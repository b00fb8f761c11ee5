import { memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubSource } from '../../src/index.js';
import type { FixtureServer } from '../../src/testing/index.js';
import { collect, memoryLog, recordingSink, startServer } from '../helpers.js';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

describe('options', () => {
  it('filter: collects only the repositories it keeps (the others are still listed, never read)', async () => {
    const baseUrl = await server.load('org');
    const { result, run, sink } = await collect({
      server,
      baseUrl,
      source: {
        org: 'octokit-fixture-org',
        endpoints: ['pulls', 'issues', 'commits'],
        perPage: 2,
        filter: (repo) => repo['name'] !== 'repo-c',
      },
    });
    expect(result).toMatchObject({ failed: 0 });
    expect(Object.keys(run.checkpoint.units).some((key) => key.includes('repo-c'))).toBe(false);
    expect(
      sink.records.filter((r) => r.endpoint === 'repository').map((r) => r.repository),
    ).toEqual(['octokit-fixture-org/repo-a', 'octokit-fixture-org/repo-b']);
    expect(
      (await server.pending(baseUrl)).map((p) => p.replace(/^GET https:\/\/[^/]+/, '')),
    ).toEqual([
      '/repos/octokit-fixture-org/repo-c/pulls',
      '/repos/octokit-fixture-org/repo-c/issues',
      '/repos/octokit-fixture-org/repo-c/commits',
    ]);
  });

  it('makes requests one at a time per token by default, even when the pipeline works on units at once', async () => {
    const measure = async (concurrency: number | undefined) => {
      let inFlight = 0;
      let most = 0;
      const fetch = async (input: string | URL | Request) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 60));
        inFlight -= 1;
        const path = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
          .pathname;
        const body =
          path.split('/').length === 4 ? { id: 1, full_name: path.slice('/repos/'.length) } : [];
        return new Response(JSON.stringify(body), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      };
      const run = await openRun({ id: 'serial', store: memoryStore(), signals: false });
      const source = githubSource({
        auth: `token-for-${concurrency}`,
        baseUrl: 'https://github.test',
        fetch: fetch as typeof globalThis.fetch,
        repos: ['acme/a', 'acme/b', 'acme/c', 'acme/d'],
        endpoints: ['pulls', 'issues', 'commits'],
        log: memoryLog(),
        ...(concurrency !== undefined && { concurrency }),
      });
      const result = await pipeline({ run, source, sink: recordingSink(), concurrency: 4 });
      await run.close();
      expect(result).toMatchObject({ completed: 16, failed: 0 });
      expect(source.requests).toBe(16);
      return most;
    };
    expect(await measure(undefined)).toBe(1);
    const three = await measure(3);
    expect(three).toBeGreaterThan(1);
    expect(three).toBeLessThanOrEqual(3);
  });
});
