import { AuthenticationError, MemoryStorage, memoryStore } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GithubAuthenticationError } from '../../src/index.js';
import type { FixtureServer } from '../../src/testing/index.js';
import { collect, memoryLog, recordingSink, startServer } from '../helpers.js';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const repos = ['hello-world', 'two', 'three'].map((name) => `octokit-fixture-org/${name}`);

describe('refused credentials', () => {
  it('stop the run at the first 401, fail no unit, and the rerun with a good token continues', async () => {
    const baseUrl = await server.load('bad-credentials');
    const storage = new MemoryStorage();
    const sink = recordingSink();
    const log = memoryLog();
    const source = { repos, endpoints: ['issues' as const], perPage: 2 };
    const refusal = await collect({ server, baseUrl, storage, sink, source, log }).catch(
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(GithubAuthenticationError);
    expect(refusal).toBeInstanceOf(AuthenticationError);
    expect((refusal as Error).message).toMatch(
      /^GitHub refused the credentials \(401 Bad credentials at GET \/repos\/octokit-fixture-org\/hello-world\): check the token/,
    );
    // One request, one refusal: not one 401 per repository.
    expect(server.requests).toHaveLength(1);
    const stored = (await memoryStore(storage).load('github'))!;
    expect(Object.values(stored.units).filter((unit) => unit.status === 'failed')).toEqual([]);

    // The rerun (the token fixed) needs no retryFailed: it reads every repository once.
    const second = await collect({ server, baseUrl, storage, sink, source });
    expect(second.result).toMatchObject({ completed: 6, failed: 0, failures: { count: 0 } });
    expect(sink.records.filter((record) => record.endpoint === 'issues')).toHaveLength(3);
    expect(await server.pending(baseUrl)).toEqual([]);
  });
});
