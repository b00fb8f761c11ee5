/**
 * Builds the scenarios @octokit/fixtures does not record, in its normalized-fixture.json format,
 * with the response headers GitHub sent in the recorded get-repository scenario (rate limit,
 * ETag, media type...). `pnpm scenarios` writes them to this folder; a test checks the files
 * match this code. Every request is listed in the order the source makes it: the fixture server
 * answers anything else (a page fetched twice, a page skipped) with a 404.
 */
import {
  digest,
  type Fixture,
  ScenarioRecorder as Recorder,
  recordedScenario,
} from '../../src/testing/index.js';

const ORG = 'octokit-fixture-org';
const API = 'https://api.github.com';
const recorded = recordedScenario('get-repository')[0] as Fixture;
const etagOf = digest;

const day = (n: number) => `2017-10-${String(n).padStart(2, '0')}T16:00:00Z`;
const user = { login: 'octokit-fixture-user-a', id: 1000, type: 'User' };

export const repo = (name: string, id: number, updated = day(1)) => ({
  id,
  name,
  full_name: `${ORG}/${name}`,
  private: false,
  owner: { login: ORG, id: 1000, type: 'Organization' },
  url: `${API}/repos/${ORG}/${name}`,
  created_at: day(1),
  updated_at: updated,
  default_branch: 'main',
});
const pull = (n: number, updated: string) => ({
  id: 2000 + n,
  number: n,
  state: 'open',
  title: `Pull request ${n}`,
  user,
  created_at: day(1),
  updated_at: updated,
});
const issue = (n: number, updated: string) => ({
  id: 3000 + n,
  number: n,
  state: 'open',
  title: `Issue ${n}`,
  user,
  comments: 0,
  created_at: day(1),
  updated_at: updated,
});
const comment = (id: number, updated: string) => ({
  id,
  body: `Comment ${id}`,
  user,
  created_at: day(1),
  updated_at: updated,
});
const review = (id: number, submitted: string) => ({
  id,
  state: 'COMMENTED',
  body: `Review ${id}`,
  user,
  submitted_at: submitted,
});
const commit = (n: number, date: string) => ({
  sha: etagOf(`commit-${n}`).slice(0, 40).padEnd(40, '0'),
  commit: {
    message: `Commit ${n}`,
    author: { name: 'Octokit', date },
    committer: { name: 'Octokit', date },
  },
  author: user,
});

const byUpdate = 'sort=updated&direction=desc';
const list = (repoName: string, path: string, query: string) =>
  `/repos/${ORG}/${repoName}/${path}?${query}`;
const byId = (id: number, path: string, query: string) => `/repositories/${id}/${path}?${query}`;

/** An organization of three repositories (two discovery pages) with pulls, issues and commits. */
function org(): Fixture[] {
  const q = (extra = '') => `state=all&${byUpdate}&per_page=2${extra}`;
  const r = new Recorder({ remaining: 1003 });
  r.get(
    `/orgs/${ORG}/repos?type=all&${byUpdate}&per_page=2`,
    [repo('repo-a', 1001, day(9)), repo('repo-b', 1002, day(8))],
    {
      next: `/organizations/1000/repos?type=all&${byUpdate}&per_page=2&page=2`,
    },
  );
  r.get(`/organizations/1000/repos?type=all&${byUpdate}&per_page=2&page=2`, [
    repo('repo-c', 1003, day(7)),
  ]);
  // repo-a's pulls: pull 4 is pushed from page 1 to page 2 by an update during the walk.
  r.get(list('repo-a', 'pulls', q()), [pull(5, day(20)), pull(4, day(19))], {
    next: byId(1001, 'pulls', q('&page=2')),
  });
  r.get(byId(1001, 'pulls', q('&page=2')), [pull(4, day(19)), pull(3, day(18))], {
    next: byId(1001, 'pulls', q('&page=3')),
  });
  r.get(byId(1001, 'pulls', q('&page=3')), [pull(2, day(17)), pull(1, day(16))]);
  r.get(list('repo-a', 'issues', q()), [issue(2, day(15)), issue(1, day(14))], {
    next: byId(1001, 'issues', q('&page=2')),
  });
  r.get(byId(1001, 'issues', q('&page=2')), [issue(0, day(13))]);
  r.get(list('repo-a', 'commits', 'per_page=2'), [commit(3, day(12)), commit(2, day(11))], {
    next: byId(1001, 'commits', 'per_page=2&page=2'),
  });
  r.get(byId(1001, 'commits', 'per_page=2&page=2'), [commit(1, day(10))]);
  r.get(list('repo-b', 'pulls', q()), []);
  r.get(list('repo-b', 'issues', q()), [issue(1, day(5))]);
  r.get(list('repo-b', 'commits', 'per_page=2'), [commit(11, day(5))]);
  r.get(list('repo-c', 'pulls', q()), []);
  r.get(list('repo-c', 'issues', q()), []);
  r.error(list('repo-c', 'commits', 'per_page=2'), 409, 'Git Repository is empty.');
  return r.fixtures;
}

/** One named repository, every endpoint. Its lookup answers with the recorded repository. */
function everyEndpoint(): Fixture[] {
  const r = new Recorder();
  const hello = 'hello-world';
  const pulls = (extra = '') => `state=all&${byUpdate}&per_page=2${extra}`;
  r.get(`/repos/${ORG}/${hello}`, recorded.response);
  r.get(list(hello, 'pulls', pulls()), [pull(3, day(20)), pull(2, day(19))], {
    next: byId(1000, 'pulls', pulls('&page=2')),
  });
  r.get(byId(1000, 'pulls', pulls('&page=2')), [pull(1, day(18))]);
  r.get(list(hello, 'issues', pulls()), [issue(4, day(17)), issue(3, day(16))], {
    next: byId(1000, 'issues', pulls('&page=2')),
  });
  r.get(byId(1000, 'issues', pulls('&page=2')), [issue(2, day(15)), issue(1, day(14))]);
  r.get(list(hello, 'issues/comments', `${byUpdate}&per_page=2`), [
    comment(101, day(13)),
    comment(100, day(12)),
  ]);
  r.get(list(hello, 'pulls/comments', `${byUpdate}&per_page=2`), [comment(201, day(11))]);
  // reviews: the pull requests, then the reviews of each
  r.get(list(hello, 'pulls', pulls()), [pull(3, day(20)), pull(2, day(19))], {
    next: byId(1000, 'pulls', pulls('&page=2')),
  });
  r.get(
    `/repos/${ORG}/${hello}/pulls/3/reviews?per_page=2`,
    [review(301, day(3)), review(302, day(4))],
    {
      next: `/repositories/1000/pulls/3/reviews?per_page=2&page=2`,
    },
  );
  r.get(`/repositories/1000/pulls/3/reviews?per_page=2&page=2`, [review(303, day(5))]);
  r.get(`/repos/${ORG}/${hello}/pulls/2/reviews?per_page=2`, []);
  r.get(byId(1000, 'pulls', pulls('&page=2')), [pull(1, day(18))]);
  r.get(`/repos/${ORG}/${hello}/pulls/1/reviews?per_page=2`, [review(304, day(6))]);
  r.get(list(hello, 'commits', 'per_page=2'), [commit(2, day(10)), commit(1, day(9))]);
  return r.fixtures;
}

/** A collection, then a refresh: 304 where nothing changed, one new issue where something did. */
function refresh(): Fixture[] {
  const r = new Recorder();
  const hello = 'hello-world';
  const q = `state=all&${byUpdate}&per_page=3`;
  r.get(`/repos/${ORG}/${hello}`, recorded.response, { etag: '"repo-1"' });
  r.get(list(hello, 'pulls', q), [pull(2, day(20)), pull(1, day(19))], { etag: '"pulls-1"' });
  r.get(list(hello, 'issues', q), [issue(3, day(18)), issue(2, day(17)), issue(1, day(16))], {
    etag: '"issues-1"',
    next: byId(1000, 'issues', `${q}&page=2`),
  });
  r.get(byId(1000, 'issues', `${q}&page=2`), []);
  // the refresh
  r.notModified(`/repos/${ORG}/${hello}`, '"repo-1"');
  r.notModified(list(hello, 'pulls', q), '"pulls-1"');
  r.get(list(hello, 'issues', q), [issue(4, day(25)), issue(3, day(18)), issue(2, day(17))], {
    etag: '"issues-2"',
    ifNoneMatch: '"issues-1"',
    next: byId(1000, 'issues', `${q}&page=2`),
  });
  return r.fixtures;
}

/** Shared by the rate-limit and error scenarios: the lookup and the first issues page. */
function issuesStart(r: Recorder): string {
  const q = `state=all&${byUpdate}&per_page=2`;
  r.get(`/repos/${ORG}/hello-world`, recorded.response);
  r.get(list('hello-world', 'issues', q), [issue(4, day(20)), issue(3, day(19))], {
    next: byId(1000, 'issues', `${q}&page=2`),
  });
  return byId(1000, 'issues', `${q}&page=2`);
}
const lastIssues = [issue(2, day(18)), issue(1, day(17))];
const primary = (reset: string) => ({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset });
const secondaryMessage =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';

/** The primary limit runs out for two hours: the source stops; the resume reads page 2. */
function primaryStop(): Fixture[] {
  const r = new Recorder({ remaining: 1 });
  const page2 = issuesStart(r);
  r.error(page2, 403, 'API rate limit exceeded for user ID 1000.', primary('{{now+7200}}'));
  r.get(page2, lastIssues);
  return r.fixtures;
}

/** The primary limit runs out for two seconds: the source waits, then reads page 2. */
function primaryWait(): Fixture[] {
  const r = new Recorder({ remaining: 1 });
  const page2 = issuesStart(r);
  r.error(page2, 403, 'API rate limit exceeded for user ID 1000.', primary('{{now+2}}'));
  r.get(page2, lastIssues);
  return r.fixtures;
}

/** Secondary limits: a 403 with retry-after, then a 429 without (60 s), then the page. */
function secondary(): Fixture[] {
  const r = new Recorder();
  const page2 = issuesStart(r);
  r.error(page2, 403, secondaryMessage, { 'retry-after': '3' });
  r.error(page2, 429, secondaryMessage);
  r.get(page2, lastIssues);
  return r.fixtures;
}

/** A secondary limit that outlasts the retries: the unit fails (retryable); the next run reads on. */
function secondaryExhausted(): Fixture[] {
  const r = new Recorder();
  const page2 = issuesStart(r);
  for (let i = 0; i < 4; i++) r.error(page2, 403, secondaryMessage, { 'retry-after': '1' });
  r.get(page2, lastIssues);
  return r.fixtures;
}

/** A burst of 5xx within the retries, then one beyond them: that unit fails and is retried next run. */
function serverErrors(): Fixture[] {
  const r = new Recorder();
  const page2 = issuesStart(r);
  r.error(page2, 502, 'Server Error');
  r.error(page2, 503, 'Service Unavailable');
  r.get(page2, lastIssues);
  const pulls = list('hello-world', 'pulls', `state=all&${byUpdate}&per_page=2`);
  for (let i = 0; i < 4; i++) r.error(pulls, 500, 'Server Error');
  r.get(pulls, [pull(1, day(10))]);
  return r.fixtures;
}

/** Failures retrying will not fix: 404 (unknown repository), 410, 451, 403; 409 is an empty repository. */
function notRetryable(): Fixture[] {
  const r = new Recorder();
  const q = `state=all&${byUpdate}&per_page=2`;
  const notFound = recordedScenario('branch-protection')[0] as Fixture;
  r.get(
    `/repos/${ORG}/no-such-repository`,
    { ...(notFound.response as object), message: 'Not Found' },
    { status: notFound.status },
  );
  r.get(`/repos/${ORG}/hello-world`, recorded.response);
  r.error(list('hello-world', 'issues', q), 410, 'Issues are disabled for this repo');
  r.error(list('hello-world', 'pulls', q), 451, 'Repository access blocked');
  r.error(
    list('hello-world', 'issues/comments', `${byUpdate}&per_page=2`),
    403,
    'Resource not accessible by integration',
  );
  r.error(list('hello-world', 'commits', 'per_page=2'), 409, 'Git Repository is empty.');
  return r.fixtures;
}

/**
 * A refused token: the first request of three repositories gets 401. The rerun, with a good
 * token, reads everything once (nothing of the first run needs redoing).
 */
function badCredentials(): Fixture[] {
  const r = new Recorder();
  const q = `state=all&${byUpdate}&per_page=2`;
  r.error(`/repos/${ORG}/hello-world`, 401, 'Bad credentials');
  r.get(`/repos/${ORG}/hello-world`, recorded.response);
  r.get(`/repos/${ORG}/two`, repo('two', 1002));
  r.get(`/repos/${ORG}/three`, repo('three', 1003));
  r.get(list('hello-world', 'issues', q), [issue(1, day(3))]);
  r.get(list('two', 'issues', q), [issue(2, day(3))]);
  r.get(list('three', 'issues', q), [issue(3, day(3))]);
  return r.fixtures;
}

/** A list request answered with a redirect (the repository was renamed since its lookup). */
function movedList(): Fixture[] {
  const r = new Recorder();
  const q = `state=all&${byUpdate}&per_page=2`;
  r.get(`/repos/${ORG}/hello-world`, recorded.response);
  r.get(
    list('hello-world', 'issues', q),
    { message: 'Moved Permanently', url: `${API}${byId(1000, 'issues', q)}` },
    {
      status: 301,
      headers: { location: `${API}${byId(1000, 'issues', q)}` },
    },
  );
  r.get(byId(1000, 'issues', q), [issue(1, day(3))]);
  return r.fixtures;
}

/** A page fetched, then lost to a crash before its cursor was saved: it is served a second time. */
function pageInFlight(): Fixture[] {
  const r = new Recorder();
  const page2 = issuesStart(r);
  r.get(page2, lastIssues, {
    next: byId(1000, 'issues', `state=all&${byUpdate}&per_page=2&page=3`),
  });
  r.get(page2, lastIssues, {
    next: byId(1000, 'issues', `state=all&${byUpdate}&per_page=2&page=3`),
  });
  r.get(byId(1000, 'issues', `state=all&${byUpdate}&per_page=2&page=3`), [issue(0, day(1))]);
  return r.fixtures;
}

export function buildScenarios(): Record<string, Fixture[]> {
  return {
    org: org(),
    'every-endpoint': everyEndpoint(),
    refresh: refresh(),
    'primary-stop': primaryStop(),
    'primary-wait': primaryWait(),
    secondary: secondary(),
    'secondary-exhausted': secondaryExhausted(),
    'server-errors': serverErrors(),
    'not-retryable': notRetryable(),
    'bad-credentials': badCredentials(),
    'moved-list': movedList(),
    'page-in-flight': pageInFlight(),
  };
}
