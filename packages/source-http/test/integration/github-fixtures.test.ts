import {
  FIXTURE_TOKEN,
  type FixtureServer,
  recordedScenario,
  startFixtureServer,
} from '@checkpointkit/source-github/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkHeader } from '../../src/index.js';
import { collect } from '../helpers.js';

// GitHub's own recorded traffic, replayed by @octokit/fixtures-server: the recording checks the
// Authorization and Accept headers of every request, and each page's Link header points on.
describe('recorded GitHub traffic (@octokit/fixtures-server)', () => {
  let server: FixtureServer;
  beforeAll(async () => {
    server = await startFixtureServer({
      scenarios: { 'paginate-issues': recordedScenario('paginate-issues') },
    });
  });
  afterAll(() => server.close());

  const options = (
    baseUrl: string,
    onRateLimit?: (info: { remaining: number; resource?: string | undefined }) => void,
  ) => ({
    baseUrl,
    headers: { accept: 'application/vnd.github.v3+json' },
    auth: { type: 'header' as const, name: 'authorization', value: `token ${FIXTURE_TOKEN}` },
    paginator: linkHeader(),
    resources: [
      {
        name: 'issues',
        path: '/repos/octokit-fixture-org/paginate-issues/issues',
        params: { per_page: 3 },
      },
    ],
    ...(onRateLimit && { onRateLimit }),
  });

  it('follows the recorded Link headers through 5 pages, with every rate-limit header read', async () => {
    const baseUrl = await server.load('paginate-issues');
    const limits: { remaining: number; resource?: string | undefined }[] = [];
    const { records, result, run } = await collect(options(baseUrl, (info) => limits.push(info)));
    expect(result.failed).toBe(0);
    expect(result.pages).toBe(5);
    expect(records).toHaveLength(13);
    expect(limits).toHaveLength(5);
    expect(limits[0]).toMatchObject({ remaining: 4999, resource: 'core' });
    // Every recorded request was made, none more: the fixtures server has nothing pending.
    expect(await server.pending(baseUrl)).toEqual([]);
    expect(JSON.stringify(run.checkpoint)).not.toContain(FIXTURE_TOKEN);
  });

  it('a wrong token does not match the recording: the unit fails, and the token is in no message', async () => {
    const baseUrl = await server.load('paginate-issues');
    const { run, source } = await collect({
      ...options(baseUrl),
      auth: { type: 'header', name: 'authorization', value: 'token wrong-secret-token' },
      retries: 0,
    });
    expect(run.unit('issues')?.status).not.toBe('complete');
    expect(JSON.stringify(run.checkpoint)).not.toContain('wrong-secret-token');
    expect(String(source.signal.reason ?? run.unit('issues')?.error?.message)).not.toContain(
      'wrong-secret-token',
    );
  });
});
