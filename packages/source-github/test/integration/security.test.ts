import { MemoryStorage, memoryStore } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FixtureServer } from '../../src/testing/index.js';
import { collect, memoryLog, startServer } from '../helpers.js';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const TOKEN = 'ghp_CANARY0TOKEN0checkpointkit0source0github';

describe('the token', () => {
  it('never reaches the checkpoint, the log, the console or an error message', async () => {
    const printed: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi
        .spyOn(console, level)
        .mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' '))),
    );
    try {
      const log = memoryLog();
      const storage = new MemoryStorage();
      const texts: string[] = [];
      // Scenarios that log (rate limits, redirects) and fail (with messages) while the token is in use.
      for (const [scenario, source] of [
        [
          'secondary-exhausted',
          { repos: ['octokit-fixture-org/hello-world'], endpoints: ['issues'], perPage: 2 },
        ],
        [
          'not-retryable',
          {
            repos: ['octokit-fixture-org/no-such-repository', 'octokit-fixture-org/hello-world'],
            endpoints: ['issues', 'pulls', 'issue-comments', 'commits'],
            perPage: 2,
          },
        ],
        [
          'rename-repository',
          {
            repos: ['octokit-fixture-org/rename-repository'],
            endpoints: ['issues'],
            perPage: 3,
            params: { issues: {} },
          },
        ],
        [
          'primary-stop',
          {
            repos: ['octokit-fixture-org/hello-world'],
            endpoints: ['issues'],
            perPage: 2,
            maxResetWait: 1,
          },
        ],
      ] as const) {
        const baseUrl = await server.load(scenario, { token: TOKEN });
        const run = await collect({
          server,
          baseUrl,
          storage,
          log,
          source: { ...source, auth: TOKEN } as never,
        });
        texts.push(String((run.source.signal.reason as Error | undefined)?.message));
        for (const unit of Object.values(run.run.checkpoint.units))
          if (unit.error) texts.push(unit.error.message);
      }
      // A request the server does not expect: its error answer echoes the request's headers.
      const baseUrl = await server.load('org', { token: TOKEN });
      const mismatch = await collect({
        server,
        baseUrl,
        storage: new MemoryStorage(),
        log,
        source: { auth: TOKEN, org: 'octokit-fixture-org', endpoints: [], perPage: 3, retries: 0 },
      });
      const echoed = mismatch.run.unit('discover/octokit-fixture-org')?.error?.message ?? '';
      // Its body has no `message`: the failure reads as the status's name, so the echoed
      // headers (octokit's "Unknown error: {…}") never reach the message at all.
      expect(echoed).toMatch(/: 404 Not Found \(not retryable\)$/);
      texts.push(echoed);

      const checkpoint = JSON.stringify(await memoryStore(storage).load('github'));
      expect(checkpoint.length).toBeGreaterThan(1000);
      expect(log.lines.length).toBeGreaterThan(3);
      for (const text of [checkpoint, ...log.lines, ...printed, ...texts])
        expect(text).not.toContain(TOKEN);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
