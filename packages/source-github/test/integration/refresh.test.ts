import { MemoryStorage } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureServer } from '../../src/testing/index.js';
import { collect, recordingSink, startServer } from '../helpers.js';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const source = {
  repos: ['octokit-fixture-org/hello-world'],
  endpoints: ['pulls' as const, 'issues' as const],
  perPage: 3,
};

describe('refresh', () => {
  it('re-reads first pages with If-None-Match: 304 is unchanged, a changed list yields only what is new', async () => {
    const baseUrl = await server.load('refresh');
    const storage = new MemoryStorage();
    const sink = recordingSink();
    const first = await collect({ server, baseUrl, storage, sink, source });
    expect(first.result).toMatchObject({ completed: 3, failed: 0 });
    expect(sink.records).toHaveLength(1 + 2 + 3);

    const again = await collect({ server, baseUrl, storage, sink: recordingSink(), source });
    expect(again.result).toMatchObject({ completed: 0, pages: 0 }); // complete units are not read again

    const refreshed = await collect({
      server,
      baseUrl,
      storage,
      sink,
      source: { ...source, refresh: true },
    });
    expect(refreshed.result).toMatchObject({ completed: 3, failed: 0 });
    // the repository and the pulls answered 304; the issues' first page holds one newer issue, and
    // the first one older than the watermark ends the walk without reading page 2
    expect(sink.records.slice(6).map((r) => `${r.endpoint}#${r.data['number']}`)).toEqual([
      'issues#4',
    ]);
    expect(await server.pending(baseUrl)).toEqual([]);
    const issues = refreshed.run.unit('repos/octokit-fixture-org/hello-world/issues');
    expect(issues?.cursor).toMatchObject({
      etag: '"issues-2"',
      since: '2017-10-25T16:00:00Z',
      next: null,
    });
    expect(issues?.cursor).not.toHaveProperty('refresh');
    const pulls = refreshed.run.unit('repos/octokit-fixture-org/hello-world/pulls');
    expect(pulls?.cursor).toMatchObject({ etag: '"pulls-1"', since: '2017-10-20T16:00:00Z' });
    expect(pulls?.cursor).not.toHaveProperty('refresh');
  });
});
