import { describe, expect, it } from 'vitest';
import { main } from '../src/seed-003-gh-year-end.js';
import { tempDir } from './helpers.js';

describe('recipe 003: the gh_year_end collector', () => {
  it('continues the seed’s checkpoint.json, locks, tells retryable failures apart and checks the config', async () => {
    const outcome = await main(await tempDir('003'));
    expect(outcome.lockedOut).toMatch(
      /^CheckpointLockedError: checkpoint "gh_year_end:acme\/2025" is locked by pid \d+ on \S+ since \d{4}-/,
    );

    // Discovery and api's pulls were done by the Python tool; api's issues resume at page 2.
    expect(outcome.requests).not.toContain('GET /orgs/acme/repos');
    expect(outcome.requests.filter((r) => r.startsWith('GET /repos/acme/api/'))).toEqual([
      'GET /repos/acme/api/issues?page=2',
      'GET /repos/acme/api/issues?page=3',
    ]);

    expect(outcome.first.kept).toBe(true);
    expect(outcome.first.failures).toEqual([
      {
        key: 'repos/acme/secret/issues',
        message: 'GET /repos/acme/secret/issues: 403 Resource not accessible by integration',
        retryable: false,
      },
      {
        key: 'repos/acme/flaky/pulls',
        message: 'GET /repos/acme/flaky/pulls: 403 API rate limit exceeded',
        retryable: true,
      },
    ]);
    expect(outcome.configRefused).toMatch(/^ConfigMismatchError: /);

    // retryFailed: 'retryable' retries flaky, not secret.
    expect(outcome.second.failures.map((f) => f.key)).toEqual(['repos/acme/secret/issues']);
    expect(outcome.second.summary.stats).toMatchObject({ records: 55 });
    expect(outcome.second.summary.counts).toEqual({
      pending: 0,
      in_progress: 0,
      complete: 10,
      failed: 1,
    });
  });
});
