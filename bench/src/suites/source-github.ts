/**
 * GitHub source: requests per record collected, and pages fetched again when a resume follows a
 * crash. GitHub is simulated in memory by a fetch that paginates like the REST API (Link headers
 * with /repositories/<id>/ URLs, per_page, rate-limit headers), counting every request.
 */
import {
  always,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Sink,
} from '@checkpointkit/core';
import { type GithubEndpoint, type GithubRecord, githubSource } from '@checkpointkit/source-github';
import { note, report, type Suite } from '../lib.js';

const ORG = 'bench-org';
/** Repositories collected whole, and in each crash-and-resume run. */
const REPOS = 8;
const CRASH_REPOS = 3;
const ENDPOINTS: GithubEndpoint[] = [
  'pulls',
  'issues',
  'issue-comments',
  'review-comments',
  'reviews',
  'commits',
];

interface Repo {
  id: number;
  name: string;
  lists: Record<string, Array<Record<string, unknown>>>;
  reviews: Map<number, Array<Record<string, unknown>>>;
}

/** A deterministic organization of repositories of uneven sizes. */
function organization(count: number): Repo[] {
  const at = (n: number) =>
    new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString().replace('.000Z', 'Z');
  return Array.from({ length: count }, (_, r) => {
    const size = (n: number) => Math.round((n * (1 + ((r * 37) % 11))) / 6);
    const pulls = Array.from({ length: size(60) }, (_, i) => ({
      id: r * 1e6 + i,
      number: i + 1,
      updated_at: at(1e5 - i),
    }));
    const items = (count: number, base: number) =>
      Array.from({ length: count }, (_, i) => ({
        id: r * 1e6 + base + i,
        updated_at: at(1e5 - i),
      }));
    const reviews = new Map(
      pulls.map((p, i) => [
        p.number,
        Array.from({ length: (i * 7 + r) % 4 }, (_, k) => ({
          id: r * 1e7 + i * 10 + k,
          submitted_at: at(i + k),
        })),
      ]),
    );
    return {
      id: 5000 + r,
      name: `repo-${r}`,
      reviews,
      lists: {
        pulls,
        issues: items(size(150), 1e5),
        'issues/comments': items(size(220), 2e5),
        'pulls/comments': items(size(90), 3e5),
        commits: items(size(180), 4e5).map((c) => ({
          sha: `sha${c.id}`,
          commit: { committer: { date: c.updated_at } },
        })),
      },
    };
  });
}

/** A fetch that answers like api.github.com from the organization, and counts requests per URL. */
function simulatedGithub(repos: Repo[]) {
  const requests = new Map<string, number>();
  const byName = new Map(repos.map((r) => [r.name, r]));
  const byId = new Map(repos.map((r) => [String(r.id), r]));
  let remaining = 5000;
  const listOf = (
    path: string,
  ): { items: unknown[]; canonical: string } | { item: unknown } | null => {
    let m = /^\/orgs\/[^/]+\/repos$|^\/organizations\/1\/repos$/.exec(path);
    if (m)
      return {
        items: repos.map((r) => ({
          id: r.id,
          full_name: `${ORG}/${r.name}`,
          updated_at: '2024-01-01T00:00:00Z',
        })),
        canonical: '/organizations/1/repos',
      };
    m = /^\/repos\/[^/]+\/([^/]+)$/.exec(path);
    if (m) {
      const repo = byName.get(m[1] as string);
      return repo ? { item: { id: repo.id, full_name: `${ORG}/${repo.name}` } } : null;
    }
    m =
      /^\/(?:repos\/[^/]+\/([^/]+)|repositories\/(\d+))\/(pulls\/(\d+)\/reviews|pulls\/comments|issues\/comments|pulls|issues|commits)$/.exec(
        path,
      );
    if (!m) return null;
    const repo = m[1] ? byName.get(m[1]) : byId.get(m[2] as string);
    if (!repo) return null;
    const what = m[3] as string;
    const items = m[4] ? (repo.reviews.get(Number(m[4])) ?? []) : (repo.lists[what] ?? []);
    return { items, canonical: `/repositories/${repo.id}/${what}` };
  };
  const fetch = async (input: string | URL | Request): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const key = url.pathname + url.search;
    requests.set(key, (requests.get(key) ?? 0) + 1);
    remaining = remaining > 1 ? remaining - 1 : 5000;
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      etag: `"${key.length}-${remaining}"`,
    };
    const found = listOf(url.pathname);
    if (!found)
      return new Response(JSON.stringify({ message: 'Not Found' }), { status: 404, headers });
    if ('item' in found) return new Response(JSON.stringify(found.item), { status: 200, headers });
    const perPage = Number(url.searchParams.get('per_page') ?? 30);
    const page = Number(url.searchParams.get('page') ?? 1);
    const slice = found.items.slice((page - 1) * perPage, page * perPage);
    if (page * perPage < found.items.length) {
      const next = new URL(`${url.origin}${found.canonical}`);
      for (const [name, value] of url.searchParams)
        if (name !== 'page') next.searchParams.set(name, value);
      next.searchParams.set('page', String(page + 1));
      headers['link'] = `<${next.href}>; rel="next"`;
    }
    return new Response(JSON.stringify(slice), { status: 200, headers });
  };
  return { fetch, requests, total: () => [...requests.values()].reduce((a, b) => a + b, 0) };
}

const quietLog = { debug() {}, info() {}, warn() {}, error() {} };

const source = (
  github: ReturnType<typeof simulatedGithub>,
  perPage: number,
  params?: Record<string, Record<string, string>>,
) =>
  githubSource({
    auth: 'bench-token',
    baseUrl: 'https://api.github.test',
    fetch: github.fetch as typeof globalThis.fetch,
    org: ORG,
    endpoints: ENDPOINTS,
    perPage,
    log: quietLog,
    ...(params && { params }),
  });

/** One full collection; returns requests and records. */
async function collectOnce(
  repos: number,
  perPage: number,
): Promise<{ requests: number; records: number }> {
  const github = simulatedGithub(organization(repos));
  const run = await openRun({ id: 'bench', store: memoryStore(), signals: false });
  let records = 0;
  const sink: Sink<GithubRecord> = {
    write(items) {
      records += items.length;
      return undefined;
    },
  };
  await pipeline({ run, source: source(github, perPage), sink });
  await run.close();
  return { requests: github.total(), records };
}

/**
 * Crashes the collection when the sink is handed its k-th page (fetched, never acknowledged),
 * then resumes. `unitRestart` models a checkpoint kept per unit: the unit in flight starts over.
 * Returns the requests made by both runs together.
 */
async function crashAndResume(k: number, unitRestart: boolean): Promise<number> {
  const github = simulatedGithub(organization(CRASH_REPOS));
  const storage = new MemoryStorage();
  let pages = 0;
  let dead = false;
  const inner = memoryStore(storage);
  const store = {
    ...inner,
    append: async (id: string, changes: never[]) =>
      dead ? Promise.reject(new Error('died')) : inner.append(id, changes),
  };
  const first = await openRun({ id: 'bench', store, strategy: always(), signals: false });
  const dying: Sink<GithubRecord> = {
    write() {
      if (++pages === k) {
        dead = true;
        throw new Error('process died');
      }
      return undefined;
    },
  };
  await pipeline({ run: first, source: source(github, 50), sink: dying }).catch(() => {});
  await first.abandon();
  const second = await openRun({ id: 'bench', store: memoryStore(storage), signals: false });
  if (unitRestart) {
    for (const [key, unit] of Object.entries(second.checkpoint.units)) {
      if (unit.status === 'in_progress') await second.reset(key, { keepCursor: false });
    }
  }
  await pipeline({ run: second, source: source(github, 50), sink: { write: () => undefined } });
  const summary = second.summary();
  await second.close();
  if (summary.counts.complete !== summary.total)
    throw new Error(`resume after page ${k} left units undone`);
  return github.total();
}

const suite: Suite = {
  name: 'source-github: requests per record, pages re-fetched on resume',
  async run() {
    const full = await collectOnce(REPOS, 100);
    const small = await collectOnce(REPOS, 30);
    note(
      'organization',
      `${full.records} records in ${REPOS} repositories, ${ENDPOINTS.length} endpoints`,
    );
    report({
      what: 'requests per record, per_page 100 (source-github) vs GitHub default 30 (gh api --paginate, most scripts)',
      subject: {
        label: 'per_page 100',
        value: full.requests / full.records,
        unit: 'requests/record',
      },
      baseline: {
        label: 'per_page 30',
        value: small.requests / small.records,
        unit: 'requests/record',
      },
      kind: 'cheaper',
    });
    note(
      'requests',
      `${full.requests} for ${full.records} records (reviews cost a request per pull request)`,
    );

    // Crash points spread over a whole collection at per_page 50; each run is compared with the
    // requests of the same collection uninterrupted.
    const uninterrupted = (await collectOnce(CRASH_REPOS, 50)).requests;
    const points = Array.from({ length: 6 }, (_, i) => 3 + i * 11);
    let ours = 0;
    let restart = 0;
    for (const k of points) {
      ours += (await crashAndResume(k, false)) - uninterrupted;
      restart += (await crashAndResume(k, true)) - uninterrupted;
    }
    report({
      what: `pages re-fetched per crash, the page in flight lost (${points.length} crash points)`,
      subject: { label: 'source-github', value: ours / points.length, unit: 'pages/crash' },
      baseline: { label: 'the page in flight', value: 1, unit: 'pages/crash' },
      kind: 'overhead',
      goal: 1,
    });
    report({
      what: 'pages re-fetched per crash vs a checkpoint kept per unit (the unit in flight starts over)',
      subject: {
        label: 'source-github (Link cursor per page)',
        value: ours / points.length,
        unit: 'pages/crash',
      },
      baseline: {
        label: 'unit-level checkpoint',
        value: restart / points.length,
        unit: 'pages/crash',
      },
      kind: 'cheaper',
    });
  },
};

export default suite;
