/**
 * The offline organization: three repositories with pull requests, issues, comments, reviews and
 * commits, written as GitHub traffic in @octokit/fixtures' format (with the response headers GitHub
 * sent in its recorded get-repository scenario), in the order the collector requests it. The
 * fixture server answers any other request (a page fetched twice, a page skipped) with a 404.
 */
import { digest, type Fixture, ScenarioRecorder } from '@checkpointkit/source-github/testing';

export const OFFLINE_ORG = 'octokit-fixture-org';
export const OFFLINE_PER_PAGE = 10;
export const OFFLINE_ENDPOINTS = [
  'pulls',
  'issues',
  'issue-comments',
  'review-comments',
  'reviews',
  'commits',
] as const;

const byUpdate = 'sort=updated&direction=desc';
const user = { login: 'octokit-fixture-user-a', id: 1000, type: 'User' };
/** Times count down from a fixed day, one hour per step, so lists are newest first. */
const at = (hoursAgo: number) =>
  new Date(Date.UTC(2024, 4, 1) - hoursAgo * 3_600_000).toISOString().replace('.000Z', 'Z');

interface Repo {
  name: string;
  id: number;
  pulls: number;
  issues: number;
  comments: number;
  reviewComments: number;
  commits: number;
}

const REPOS: Repo[] = [
  {
    name: 'hello-world',
    id: 1000,
    pulls: 23,
    issues: 41,
    comments: 27,
    reviewComments: 12,
    commits: 34,
  },
  { name: 'api', id: 1001, pulls: 8, issues: 15, comments: 6, reviewComments: 3, commits: 19 },
  { name: 'docs', id: 1002, pulls: 0, issues: 0, comments: 0, reviewComments: 0, commits: 0 },
];

/** Reviews of pull request `n`: 0 to 3 of them. */
const reviewsOf = (repo: Repo, n: number) =>
  Array.from({ length: (n * 7 + repo.id) % 4 }, (_, i) => ({
    id: repo.id * 10_000 + n * 10 + i,
    state: i === 2 ? 'APPROVED' : 'COMMENTED',
    body: `Review ${i + 1} of #${n}`,
    user,
    submitted_at: at(500 - n * 3 - i),
  }));

function list(
  r: ScenarioRecorder,
  repo: Repo,
  path: string,
  query: string,
  items: unknown[],
): void {
  const pages = Math.max(1, Math.ceil(items.length / OFFLINE_PER_PAGE));
  for (let page = 1; page <= pages; page++) {
    const url =
      page === 1
        ? `/repos/${OFFLINE_ORG}/${repo.name}/${path}?${query}&per_page=${OFFLINE_PER_PAGE}`
        : `/repositories/${repo.id}/${path}?${query}&per_page=${OFFLINE_PER_PAGE}&page=${page}`;
    const next =
      page < pages
        ? `/repositories/${repo.id}/${path}?${query}&per_page=${OFFLINE_PER_PAGE}&page=${page + 1}`
        : undefined;
    r.get(
      url,
      items.slice((page - 1) * OFFLINE_PER_PAGE, page * OFFLINE_PER_PAGE),
      next ? { next } : {},
    );
  }
}

const numbered = (count: number, make: (n: number) => unknown) =>
  Array.from({ length: count }, (_, i) => make(count - i));

export function offlineScenario(): Fixture[] {
  const r = new ScenarioRecorder();
  const repoObject = (repo: Repo) => ({
    ...ScenarioRecorder.recordedRepository(),
    id: repo.id,
    name: repo.name,
    full_name: `${OFFLINE_ORG}/${repo.name}`,
    updated_at: at(repo.id - 1000),
  });
  // Discovery, ten repositories a page: one page here.
  r.get(
    `/orgs/${OFFLINE_ORG}/repos?type=all&${byUpdate}&per_page=${OFFLINE_PER_PAGE}`,
    REPOS.map(repoObject),
  );
  for (const repo of REPOS) {
    const pulls = numbered(repo.pulls, (n) => ({
      id: repo.id * 100 + n,
      number: n,
      state: 'open',
      title: `Pull request ${n}`,
      user,
      updated_at: at(200 - n),
    }));
    const state = `state=all&${byUpdate}`;
    list(r, repo, 'pulls', state, pulls);
    list(
      r,
      repo,
      'issues',
      state,
      numbered(repo.issues, (n) => ({
        id: repo.id * 1000 + n,
        number: n,
        title: `Issue ${n}`,
        user,
        updated_at: at(300 - n),
      })),
    );
    list(
      r,
      repo,
      'issues/comments',
      byUpdate,
      numbered(repo.comments, (n) => ({
        id: repo.id * 10_000 + n,
        body: `Comment ${n}`,
        user,
        updated_at: at(400 - n),
      })),
    );
    list(
      r,
      repo,
      'pulls/comments',
      byUpdate,
      numbered(repo.reviewComments, (n) => ({
        id: repo.id * 20_000 + n,
        body: `Review comment ${n}`,
        user,
        updated_at: at(450 - n),
      })),
    );
    // reviews: each page of pull requests, then the reviews of each of them
    const pullPages = Math.max(1, Math.ceil(pulls.length / OFFLINE_PER_PAGE));
    for (let page = 1; page <= pullPages; page++) {
      const slice = pulls.slice((page - 1) * OFFLINE_PER_PAGE, page * OFFLINE_PER_PAGE) as Array<{
        number: number;
      }>;
      const base = `${state}&per_page=${OFFLINE_PER_PAGE}`;
      const url =
        page === 1
          ? `/repos/${OFFLINE_ORG}/${repo.name}/pulls?${base}`
          : `/repositories/${repo.id}/pulls?${base}&page=${page}`;
      r.get(
        url,
        slice,
        page < pullPages ? { next: `/repositories/${repo.id}/pulls?${base}&page=${page + 1}` } : {},
      );
      for (const pull of slice) {
        r.get(
          `/repos/${OFFLINE_ORG}/${repo.name}/pulls/${pull.number}/reviews?per_page=${OFFLINE_PER_PAGE}`,
          reviewsOf(repo, pull.number),
        );
      }
    }
    if (repo.commits === 0) {
      r.error(
        `/repos/${OFFLINE_ORG}/${repo.name}/commits?per_page=${OFFLINE_PER_PAGE}`,
        409,
        'Git Repository is empty.',
      );
    } else {
      const commits = numbered(repo.commits, (n) => ({
        sha: digest(`${repo.name}-${n}`).slice(0, 40).padEnd(40, '0'),
        commit: {
          message: `Commit ${n}`,
          author: { name: 'Octokit', date: at(600 - n) },
          committer: { name: 'Octokit', date: at(600 - n) },
        },
        author: user,
      }));
      const pages = Math.ceil(commits.length / OFFLINE_PER_PAGE);
      for (let page = 1; page <= pages; page++) {
        const url =
          page === 1
            ? `/repos/${OFFLINE_ORG}/${repo.name}/commits?per_page=${OFFLINE_PER_PAGE}`
            : `/repositories/${repo.id}/commits?per_page=${OFFLINE_PER_PAGE}&page=${page}`;
        const next =
          page < pages
            ? `/repositories/${repo.id}/commits?per_page=${OFFLINE_PER_PAGE}&page=${page + 1}`
            : undefined;
        r.get(
          url,
          commits.slice((page - 1) * OFFLINE_PER_PAGE, page * OFFLINE_PER_PAGE),
          next ? { next } : {},
        );
      }
    }
  }
  return r.fixtures;
}
