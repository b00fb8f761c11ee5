import { describe, expect, it } from 'vitest';
import { readReviewsCursor, readWalkCursor } from '../../src/cursor.js';
import { listSpec, orgReposSpec, repoSpec } from '../../src/endpoints.js';
import {
  GithubCursorError,
  GithubSourceConfigError,
  githubSource,
  parseUnitKey,
  rateLimitFromHeaders,
} from '../../src/index.js';
import { formatResumeTime } from '../../src/rate-limit.js';
import { nextLink } from '../../src/requester.js';
import { firstPageUrl } from '../../src/walk.js';

describe('nextLink', () => {
  it("returns GitHub's rel=next URL untouched, wherever it stands", () => {
    const header =
      '<https://api.github.com/repositories/1000/issues?per_page=3&page=1>; rel="prev", ' +
      '<https://api.github.com/repositories/1000/issues?per_page=3&page=3>; rel="next", ' +
      '<https://api.github.com/repositories/1000/issues?per_page=3&page=5>; rel="last"';
    expect(nextLink(header)).toBe(
      'https://api.github.com/repositories/1000/issues?per_page=3&page=3',
    );
    expect(nextLink('<https://x.test/a?after=Y3Vyc29yOnYyOpK0%3D&per_page=2>; rel="next"')).toBe(
      'https://x.test/a?after=Y3Vyc29yOnYyOpK0%3D&per_page=2',
    );
  });

  it('is null on the last page or without a Link header', () => {
    expect(
      nextLink(
        '<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first"',
      ),
    ).toBeNull();
    expect(nextLink(undefined)).toBeNull();
    expect(nextLink('')).toBeNull();
  });
});

describe('rate-limit headers', () => {
  it('reads remaining, limit, reset (epoch seconds) and resource', () => {
    expect(
      rateLimitFromHeaders({
        'x-ratelimit-remaining': '12',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-reset': '1700000000',
        'x-ratelimit-resource': 'core',
      }),
    ).toEqual({
      remaining: 12,
      limit: 5000,
      resetAt: '2023-11-14T22:13:20.000Z',
      resource: 'core',
    });
  });

  it('gives nothing when a response carries no limit, and skips an unreadable reset', () => {
    expect(rateLimitFromHeaders({ etag: '"x"' })).toBeUndefined();
    expect(
      rateLimitFromHeaders({
        'x-ratelimit-remaining': '1',
        'x-ratelimit-limit': '60',
        'x-ratelimit-reset': 'soon',
      }),
    ).toEqual({
      remaining: 1,
      limit: 60,
    });
  });

  it('formats the resume time as HH:MM UTC, with the date when it is not today', () => {
    const now = new Date('2024-05-01T10:00:00Z');
    expect(formatResumeTime('2024-05-01T14:32:10.000Z', now)).toBe('14:32 UTC');
    expect(formatResumeTime('2024-05-02T00:05:00.000Z', now)).toBe('2024-05-02 00:05 UTC');
    expect(formatResumeTime(undefined, now)).toBe('the rate limit resets');
  });
});

describe('unit keys', () => {
  it('names discovery and endpoint units, and nothing else', () => {
    expect(parseUnitKey('discover/acme')).toEqual({ kind: 'org', org: 'acme' });
    expect(parseUnitKey('discover/acme/api')).toEqual({ kind: 'repository', repo: 'acme/api' });
    expect(parseUnitKey('repos/acme/api.js/review-comments')).toEqual({
      kind: 'endpoint',
      repo: 'acme/api.js',
      endpoint: 'review-comments',
    });
    expect(parseUnitKey('repos/acme/api/releases')).toBeNull();
    expect(parseUnitKey('collect/acme/api/pulls')).toBeNull();
    expect(parseUnitKey('discover/a/b/c')).toBeNull();
  });
});

describe('first page URLs', () => {
  it('sort by update, newest first, and send since only where GitHub filters by it', () => {
    expect(firstPageUrl(listSpec('issues', 'acme/api'), 100, '2024-01-01T00:00:00Z')).toBe(
      '/repos/acme/api/issues?state=all&sort=updated&direction=desc&since=2024-01-01T00%3A00%3A00Z&per_page=100',
    );
    expect(firstPageUrl(listSpec('pulls', 'acme/api'), 50, '2024-01-01T00:00:00Z')).toBe(
      '/repos/acme/api/pulls?state=all&sort=updated&direction=desc&per_page=50',
    );
    expect(firstPageUrl(listSpec('review-comments', 'acme/api'), 10, null)).toBe(
      '/repos/acme/api/pulls/comments?sort=updated&direction=desc&per_page=10',
    );
    expect(firstPageUrl(orgReposSpec('acme'), 100, null)).toBe(
      '/orgs/acme/repos?type=all&sort=updated&direction=desc&per_page=100',
    );
    expect(firstPageUrl(repoSpec('acme/api'), 100, null)).toBe('/repos/acme/api');
  });

  it('take replaced parameters as given; such a list is no longer newest first', () => {
    const spec = listSpec('issues', 'acme/api', {});
    expect(firstPageUrl(spec, 3, null)).toBe('/repos/acme/api/issues?per_page=3');
    expect(spec.newestFirst).toBe(false);
    expect(
      listSpec('issues', 'acme/api', { state: 'open', sort: 'updated', direction: 'desc' })
        .newestFirst,
    ).toBe(true);
  });
});

describe('options', () => {
  const base = { auth: 'x', org: 'acme', endpoints: ['pulls' as const] };
  it.each([
    [{ ...base, auth: undefined }, 'auth'],
    [{ ...base, repos: ['acme/api'] }, 'org'],
    [{ ...base, org: 'not an org' }, 'org'],
    [{ ...base, org: undefined, repos: ['acme'] }, 'repos'],
    [{ ...base, org: undefined, repos: [] }, 'repos'],
    [{ ...base, endpoints: ['pulls', 'stars'] }, 'endpoints'],
    [{ ...base, perPage: 101 }, 'perPage'],
    [{ ...base, concurrency: 0 }, 'concurrency'],
    [{ ...base, since: 'last tuesday' }, 'since'],
    // Sent nowhere (fetch refuses such a URL), and kept in every unit error of the checkpoint.
    [{ ...base, baseUrl: 'http://alice:s3cr3t-pw@ghe.example' }, 'baseUrl'],
    [{ ...base, baseUrl: 'not a url' }, 'baseUrl'],
  ])('refuses %j, naming "%s"', (options, field) => {
    expect(() => githubSource(options as never)).toThrow(GithubSourceConfigError);
    expect(() => githubSource(options as never)).toThrow(`option "${field}"`);
    expect(() => githubSource(options as never)).not.toThrow('s3cr3t-pw');
  });
});

describe('cursors', () => {
  const cursor = {
    next: null,
    first: 'https://api.github.com/x',
    etag: null,
    since: null,
    edge: [],
    seen: [],
    stopAt: null,
  };
  it('read back what the source wrote', () => {
    expect(readWalkCursor('u', cursor)).toEqual(cursor);
    expect(readWalkCursor('u', null)).toBeNull();
    expect(
      readReviewsCursor('u', { ...cursor, queue: [3, 2], reviews: null, reviewsSeen: [] }),
    ).toMatchObject({ queue: [3, 2] });
  });

  it('refuse a cursor of another shape, naming the unit and the field', () => {
    expect(() => readWalkCursor('repos/acme/api/pulls', 7)).toThrow(GithubCursorError);
    expect(() => readWalkCursor('repos/acme/api/pulls', { ...cursor, first: 3 })).toThrow(
      'unit "repos/acme/api/pulls": cursor field "first" is missing or malformed',
    );
    expect(() => readReviewsCursor('r', { ...cursor, queue: ['3'] })).toThrow('field "queue"');
    expect(new GithubCursorError('u', 'x').retryable).toBe(false);
  });
});
