import { MemoryStorage, memoryStore } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureServer } from '../../src/testing/index.js';
import { type CollectOptions, collect, counts, recordingSink, startServer } from '../helpers.js';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

type SourceOptions = CollectOptions['source'];

const cases: Array<{ scenario: string; source: SourceOptions; records: number; pages: number }> = [
  {
    scenario: 'org',
    source: { org: 'octokit-fixture-org', endpoints: ['pulls', 'issues', 'commits'], perPage: 2 },
    // 3 repositories + repo-a: 5 pulls, 3 issues, 3 commits + repo-b: 1 issue, 1 commit
    records: 3 + 5 + 3 + 3 + 1 + 1,
    pages: 14,
  },
  {
    scenario: 'every-endpoint',
    source: {
      repos: ['octokit-fixture-org/hello-world'],
      endpoints: ['pulls', 'issues', 'issue-comments', 'review-comments', 'reviews', 'commits'],
      perPage: 2,
    },
    records: 1 + 3 + 4 + 2 + 1 + 4 + 2,
    pages: 14,
  },
  {
    scenario: 'paginate-issues',
    source: {
      repos: ['octokit-fixture-org/paginate-issues'],
      endpoints: ['issues'],
      perPage: 3,
      params: { issues: {} },
    },
    records: 1 + 13,
    pages: 6,
  },
];

async function uninterrupted(scenario: string, source: SourceOptions) {
  const baseUrl = await server.load(scenario);
  const first = await collect({ server, baseUrl, source });
  expect(await server.pending(baseUrl)).toEqual([]);
  return first;
}

describe.each(cases)('resume: $scenario', ({ scenario, source, records, pages }) => {
  it('collects every record once, each with its repository and endpoint, with every request in order', async () => {
    const { sink, result, run } = await uninterrupted(scenario, source);
    expect(result).toMatchObject({ failed: 0, aborted: false, pages });
    expect(sink.records).toHaveLength(records);
    expect([...counts(sink.keys()).values()].every((n) => n === 1)).toBe(true);
    for (const record of sink.records) {
      expect(record.repository).toMatch(/^octokit-fixture-org\//);
      expect(record.data).toBeTypeOf('object');
    }
    expect(run.summary().counts.failed).toBe(0);
  });

  it('after a crash following any page, the resume delivers every record exactly once', async () => {
    const expected = (await uninterrupted(scenario, source)).sink.keys().sort();
    for (let k = 1; k < pages; k++) {
      const baseUrl = await server.load(scenario);
      const storage = new MemoryStorage();
      const sink = recordingSink();
      const crashed = await collect({ server, baseUrl, storage, sink, source, crashAfterPage: k });
      expect(crashed.crashed, `crash after page ${k}`).toBe(true);
      const resumed = await collect({ server, baseUrl, storage, sink, source });
      expect(resumed.result?.failed, `failures after a crash after page ${k}`).toBe(0);
      // The strict server answers a page fetched twice or skipped with a 404: nothing is pending
      // means every recorded request was made, once, in order.
      expect(await server.pending(baseUrl), `requests left after a crash after page ${k}`).toEqual(
        [],
      );
      expect([...sink.keys()].sort(), `records after a crash after page ${k}`).toEqual(expected);
    }
  });
});

describe('resume: cursor', () => {
  it("holds GitHub's next Link URL as given, the first page's ETag and the watermark", async () => {
    const baseUrl = await server.load('paginate-issues');
    const storage = new MemoryStorage();
    const source: SourceOptions = {
      repos: ['octokit-fixture-org/paginate-issues'],
      endpoints: ['issues'],
      perPage: 3,
      params: { issues: {} },
    };
    await collect({ server, baseUrl, storage, source, crashAfterPage: 3 });
    const saved = await memoryStore(storage).load('github');
    const unit = saved?.units['repos/octokit-fixture-org/paginate-issues/issues'];
    expect(unit).toMatchObject({ status: 'in_progress', done: 6 });
    expect(unit?.cursor).toMatchObject({
      next: `${baseUrl}/repositories/1000/issues?per_page=3&page=3`,
      first: `${baseUrl}/repos/octokit-fixture-org/paginate-issues/issues?per_page=3`,
      etag: '"00000000000000000000000000000000"',
    });
    expect(unit?.cursor).toMatchObject({ since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('re-fetches only the page in flight when a crash lost it before its cursor was saved', async () => {
    const baseUrl = await server.load('page-in-flight');
    const storage = new MemoryStorage();
    const source: SourceOptions = {
      repos: ['octokit-fixture-org/hello-world'],
      endpoints: ['issues'],
      perPage: 2,
    };
    let writes = 0;
    const sink = recordingSink(() => {
      // The third page reaches the sink and the process dies before it is written.
      if (++writes === 3) throw new Error('process died');
    });
    const store = await collect({
      server,
      baseUrl,
      storage,
      sink,
      source,
      crashAfterPage: 99,
    }).catch(() => null);
    expect(store?.result?.failed).toBe(1);
    const seen = server.requests.filter((r) => r.scenario === baseUrl.split('/').pop());
    expect(seen.map((r) => r.path)).toHaveLength(3);
    const resumed = await collect({ server, baseUrl, storage, sink: recordingSink(), source });
    expect(resumed.result).toMatchObject({ failed: 0, completed: 1 });
    expect(await server.pending(baseUrl)).toEqual([]);
    // one request more than the uninterrupted walk: the page in flight, once.
    const again = server.requests.filter((r) => r.scenario === baseUrl.split('/').pop());
    expect(again.map((r) => r.path)).toEqual([
      '/repos/octokit-fixture-org/hello-world',
      '/repos/octokit-fixture-org/hello-world/issues?state=all&sort=updated&direction=desc&per_page=2',
      '/repositories/1000/issues?state=all&sort=updated&direction=desc&per_page=2&page=2',
      '/repositories/1000/issues?state=all&sort=updated&direction=desc&per_page=2&page=2',
      '/repositories/1000/issues?state=all&sort=updated&direction=desc&per_page=2&page=3',
    ]);
  });
});
