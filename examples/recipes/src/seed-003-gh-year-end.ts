/**
 * Recipe for seed 003: gh_year_end's checkpoint and resume system, done with CheckpointKit.
 *
 * Phases, repositories and endpoints are one tree of unit keys: `phases/<name>` for the phases,
 * `repos/<owner>/<repo>/<endpoint>` for the work, each with its resume page in the cursor
 * (`{ page }`), which is exactly what core makes of the seed's own `checkpoint.json`, so a
 * collection the Python tool left half done is imported and continued. `openRun` takes the lock
 * (a second collector gets `CheckpointLockedError` naming pid, host and time), checks the config
 * digest, saves and exits 130/143 on SIGINT/SIGTERM; the file store writes atomically.
 * `UnitError` with `retryable: false` is the seed's non-retryable failure (403, 404);
 * `pending({ retryFailed, from })` is `get_repos_to_process(retry_failed, from_repo)`.
 *
 *   pnpm --filter checkpointkit-example-recipes seed-003
 *
 * The GitHub API is a small in-process stand-in here, to keep the recipe about the checkpoint;
 * @checkpointkit/source-github does the real thing with the same key layout (see seed 002's recipe).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  anyOf,
  type CheckpointStore,
  type CheckpointSummary,
  checkpointToChanges,
  everyItems,
  everyUnits,
  keyPath,
  openRun,
  parseCheckpointJson,
  type Run,
  UnitError,
} from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { isMain } from './is-main.js';

export interface CollectorConfig {
  org: string;
  year: number;
  endpoints: readonly string[];
  perPage: number;
}

export const CONFIG: CollectorConfig = {
  org: 'acme',
  year: 2025,
  endpoints: ['pulls', 'issues'],
  perPage: 10,
};

/** The checkpoint id: one collection per organization and year. */
export const checkpointId = (config: CollectorConfig) => `gh_year_end:${config.org}/${config.year}`;

/** What the collector needs from GitHub. */
export interface GithubApi {
  listRepos(org: string): Promise<string[]>;
  /** One page (1-based) of an endpoint; empty past the end. */
  fetchPage(repo: string, endpoint: string, page: number, perPage: number): Promise<object[]>;
}

/**
 * The organization: `secret` answers its issues with 403 (not retryable, as the seed marks
 * permission errors), `flaky` hits the rate limit once on its first page of pulls (retryable).
 */
export function demoGithub(): GithubApi & { requests: string[] } {
  const sizes: Record<string, Record<string, number>> = {
    'acme/api': { pulls: 25, issues: 12 },
    'acme/web': { pulls: 5, issues: 0 },
    'acme/secret': { pulls: 3, issues: 4 },
    'acme/flaky': { pulls: 8, issues: 2 },
  };
  let rateLimited = false;
  const requests: string[] = [];
  return {
    requests,
    async listRepos(org) {
      requests.push(`GET /orgs/${org}/repos`);
      return Object.keys(sizes);
    },
    async fetchPage(repo, endpoint, page, perPage) {
      requests.push(`GET /repos/${repo}/${endpoint}?page=${page}`);
      if (repo === 'acme/secret' && endpoint === 'issues') {
        throw new UnitError(
          `GET /repos/${repo}/issues: 403 Resource not accessible by integration`,
          {
            retryable: false,
          },
        );
      }
      if (repo === 'acme/flaky' && endpoint === 'pulls' && !rateLimited) {
        rateLimited = true;
        throw new UnitError(`GET /repos/${repo}/pulls: 403 API rate limit exceeded`, {
          retryable: true,
        });
      }
      const total = sizes[repo]?.[endpoint] ?? 0;
      const first = (page - 1) * perPage;
      return Array.from({ length: Math.max(0, Math.min(perPage, total - first)) }, (_, i) => ({
        repo,
        endpoint,
        number: first + i + 1,
      }));
    },
  };
}

export interface CollectOptions {
  store: CheckpointStore;
  api: GithubApi;
  config?: CollectorConfig;
  /** Retry failed units: all, only retryable ones, or none (the seed's default). */
  retryFailed?: boolean | 'retryable';
  /** Start from this repository (`owner/name`), as the seed's from_repo. */
  fromRepo?: string;
  /** What to do when the config changed since the checkpoint was made. Default: refuse. */
  onConfigChange?: 'error' | 'reset' | 'keep';
  /** Where the records go (a JSONL writer in the real collector). */
  write?: (records: readonly object[]) => Promise<void> | void;
}

export interface CollectResult {
  summary: CheckpointSummary;
  /** True when the checkpoint was kept (something failed). */
  kept: boolean;
  failures: { key: string; message: string; retryable: boolean }[];
}

const DISCOVERY = keyPath('phases', 'discovery');

/** One collection run: discovery, then each endpoint phase, page by page. */
export async function collect(options: CollectOptions): Promise<CollectResult> {
  const config = options.config ?? CONFIG;
  const run = await openRun({
    id: checkpointId(config),
    store: options.store,
    config, // its digest is checked on resume (the seed's validate_config)
    onConfigChange: options.onConfigChange ?? 'error',
    // The seed auto-saves every 10 pages or 100 records; here: every finished unit or 100 records.
    // What a crash costs: up to 100 records' pages read again (and written again by a plain
    // write); the default strategy would cost the page in flight.
    strategy: anyOf(everyUnits(1), everyItems(100)),
  });
  try {
    await run.plan([DISCOVERY, ...config.endpoints.map((e) => keyPath('phases', e))]);
    if (run.unit(DISCOVERY)?.status !== 'complete') {
      await run.start(DISCOVERY);
      const repos = await options.api.listRepos(config.org);
      await run.plan(
        repos.flatMap((repo) => config.endpoints.map((e) => keyPath('repos', repo, e))),
      );
      await run.complete(DISCOVERY, { items: repos.length });
    }
    for (const endpoint of config.endpoints) {
      await collectPhase(run, endpoint, config, options);
    }
  } catch (error) {
    await run.close(); // saved and interrupted: the next run resumes
    throw error;
  }
  const { summary, deleted } = await run.finish(); // kept when a unit failed
  const failures = Object.entries(run.checkpoint.units)
    .filter(([, unit]) => unit.status === 'failed' && unit.error)
    .map(([key, unit]) => ({
      key,
      message: unit.error!.message,
      retryable: unit.error!.retryable,
    }));
  return { summary, kept: !deleted, failures };
}

async function collectPhase(
  run: Run,
  endpoint: string,
  config: CollectorConfig,
  options: CollectOptions,
): Promise<void> {
  const phase = keyPath('phases', endpoint);
  const keys = run
    .pending({
      prefix: 'repos',
      retryFailed: options.retryFailed ?? false,
      ...(options.fromRepo && { from: keyPath('repos', options.fromRepo, config.endpoints[0]!) }),
    })
    .filter((key) => key.endsWith(`/${endpoint}`));
  if (keys.length > 0 && run.unit(phase)?.status !== 'in_progress') await run.start(phase);

  for (const key of keys) {
    const repo = key.split('/').slice(1, 3).join('/');
    await run.start(key);
    // The seed's get_resume_page: the cursor says which page comes next.
    let page = (run.unit(key)?.cursor as { page: number } | null)?.page ?? 1;
    try {
      for (;;) {
        const records = await options.api.fetchPage(repo, endpoint, page, config.perPage);
        if (records.length === 0) break;
        await options.write?.(records);
        // The page is written: record where to go on, and count it.
        await run.progress(key, { cursor: { page: page + 1 }, items: records.length });
        await run.count('pages');
        await run.count('records', records.length);
        page += 1;
      }
      await run.complete(key);
    } catch (error) {
      await run.fail(key, error); // a UnitError says whether it is retryable; anything else is
    }
  }
  const open = Object.entries(run.checkpoint.units).some(
    ([key, unit]) =>
      key.startsWith('repos/') &&
      key.endsWith(`/${endpoint}`) &&
      unit.status !== 'complete' &&
      unit.status !== 'failed',
  );
  if (!open && run.unit(phase)?.status !== 'complete') await run.complete(phase);
}

/** `checkpoint.json` as the Python collector left it: api's pulls done, its issues at page 2. */
export function seedCheckpointFile(): object {
  const endpoint = (status: string, pages: number, records: number) => ({
    status,
    pages_collected: pages,
    records_collected: records,
    last_page_written: pages,
  });
  const pending = { pulls: endpoint('pending', 0, 0), issues: endpoint('pending', 0, 0) };
  const repo = (status: string, endpoints: object) => ({
    status,
    started_at: status === 'pending' ? null : '2025-12-31T10:00:00',
    completed_at: null,
    endpoints,
    error: null,
  });
  return {
    created_at: '2025-12-31T09:59:00',
    updated_at: '2025-12-31T10:07:00',
    config_digest: '3f1c0d5e', // the Python tool's digest: not CheckpointKit's
    current_phase: 'pulls',
    phases: { discovery: 'complete', pulls: 'in_progress', issues: 'pending' },
    repos: {
      'acme/api': repo('in_progress', {
        pulls: endpoint('complete', 3, 25),
        issues: endpoint('in_progress', 1, 10),
      }),
      'acme/web': repo('pending', pending),
      'acme/secret': repo('pending', pending),
      'acme/flaky': repo('pending', pending),
    },
  };
}

/**
 * Imports the seed's checkpoint.json into the store, unless the checkpoint is there already.
 * Under the checkpoint's lock, so that it cannot race a collector or another import.
 */
export async function importSeedCheckpoint(
  file: string,
  store: CheckpointStore,
  id: string,
): Promise<boolean> {
  const lock = await store.lock(id);
  try {
    if (await store.load(id)) return false;
    const { checkpoint } = parseCheckpointJson(await readFile(file, 'utf8'), { file, id });
    await store.append(id, checkpointToChanges(checkpoint));
    return true;
  } finally {
    await lock.release();
  }
}

export interface Seed003Outcome {
  /** The message a second collector got while the first held the lock. */
  lockedOut: string;
  /** The first run after the import: secret's issues and flaky's pulls fail. */
  first: CollectResult;
  /** The message of a run with another config. */
  configRefused: string;
  /** The second run, retrying retryable failures: only secret's issues stay failed. */
  second: CollectResult;
  /** Every request made, in order. */
  requests: string[];
}

export async function main(dir?: string): Promise<Seed003Outcome> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'recipe-003-')));
  const store = fileStore({ dir: join(root, '.checkpoints') });
  const api = demoGithub();
  const id = checkpointId(CONFIG);

  const file = join(root, 'checkpoint.json');
  await writeFile(file, JSON.stringify(seedCheckpointFile(), null, 2));
  await importSeedCheckpoint(file, store, id);

  // Another collector holds the checkpoint: this one is refused, naming who holds it.
  const holder = await openRun({
    id,
    store: fileStore({ dir: join(root, '.checkpoints') }),
    signals: false,
  });
  const lockedOut = await collect({ store, api, onConfigChange: 'keep' }).then(
    () => 'not refused',
    (error: Error) => `${error.name}: ${error.message}`,
  );
  await holder.close();

  // The imported checkpoint has the Python tool's config digest: keep it this once.
  const first = await collect({ store, api, onConfigChange: 'keep' });
  const configRefused = await collect({ store, api, config: { ...CONFIG, perPage: 50 } }).then(
    () => 'not refused',
    (error: Error) => `${error.name}: ${error.message}`,
  );
  const second = await collect({ store, api, retryFailed: 'retryable' });
  return { lockedOut, first, configRefused, second, requests: api.requests };
}

if (isMain(import.meta.url)) {
  const outcome = await main();
  console.log(outcome.lockedOut);
  console.log(`requests:\n  ${outcome.requests.join('\n  ')}`);
  for (const [name, result] of [
    ['first run', outcome.first],
    ['second run', outcome.second],
  ] as const) {
    const { counts, total, stats } = result.summary;
    console.log(
      `${name}: ${counts.complete}/${total} units complete, ${counts.failed} failed, ${stats['records']} records; checkpoint ${result.kept ? 'kept' : 'deleted'}`,
    );
    for (const failure of result.failures) {
      console.log(
        `  ${failure.key}: ${failure.message} (${failure.retryable ? 'retryable' : 'not retryable'})`,
      );
    }
  }
  console.log(outcome.configRefused);
}
