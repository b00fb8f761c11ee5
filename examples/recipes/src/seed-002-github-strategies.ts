/**
 * Recipe for seed 002: the shared checkpoint utility of GitHub API jobs, done with CheckpointKit.
 *
 * The seed's operation id, `CheckpointContext`, `should_save()` and `create_checkpoint()` become
 * `openRun({ id, strategy })`: the run counts units, items and time since the last save, the
 * GitHub source reports the rate limit of every page, and the strategy's reason is recorded as
 * the checkpoint's `lastSaveReason` (with `saveCount`). The seed's composite strategy (every 5
 * minutes OR every 1000 items OR at 20% of the rate limit left) is `anyOf(...)`. `finish()`
 * is the seed's `finalize()`: with auto cleanup (CHECKPOINT_AUTO_CLEANUP, default true) the
 * checkpoint is deleted. Old v1.0 / v2.0 checkpoint files are read and migrated by core.
 *
 *   pnpm --filter checkpointkit-example-recipes seed-002
 *
 * Offline: GitHub is the fixture server of @checkpointkit/source-github/testing (GitHub's REST
 * API as @octokit/fixtures records it), which answers requests in the recorded order only, so
 * a page fetched twice or skipped after the resume would fail the run.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  anyOf,
  type CheckpointStore,
  checkpointToChanges,
  everyItems,
  everyMs,
  onRateLimit,
  openRun,
  parseCheckpointJson,
  pipeline,
  type Sink,
} from '@checkpointkit/core';
import { type GithubRecord, githubSource } from '@checkpointkit/source-github';
import {
  FIXTURE_TOKEN,
  type Fixture,
  ScenarioRecorder,
  startFixtureServer,
} from '@checkpointkit/source-github/testing';
import { fileStore } from '@checkpointkit/storage-file';
import { isMain } from './is-main.js';

const REPO = 'acme/api';
const PER_PAGE = 10;
const ISSUES = 45;

/**
 * The seed's composite strategy: time OR progress OR rate limit. What a crash costs with it: up
 * to 5 minutes or 1000 issues read again (all 45 of them here), unless the rate limit ran low; the
 * default strategy would cost the page in flight.
 */
export const strategy = anyOf(everyMs(300_000), everyItems(1000), onRateLimit(0.2));

/**
 * GitHub as this job sees it: the repository, then its issues in 5 pages of 10, newest update
 * first. The rate limit starts at 1004 of 5000 left and drops by one per request, so it crosses
 * 20% on the fourth page of issues.
 */
export function recordedTraffic(): Fixture[] {
  const recorder = new ScenarioRecorder({ remaining: 1004 });
  const id = 4242;
  recorder.get(`/repos/${REPO}`, {
    ...ScenarioRecorder.recordedRepository(),
    id,
    name: 'api',
    full_name: REPO,
  });
  const query = `state=all&sort=updated&direction=desc&per_page=${PER_PAGE}`;
  const pages = Math.ceil(ISSUES / PER_PAGE);
  for (let page = 1; page <= pages; page++) {
    const issues = Array.from(
      { length: Math.min(PER_PAGE, ISSUES - (page - 1) * PER_PAGE) },
      (_, i) => {
        const number = ISSUES - (page - 1) * PER_PAGE - i;
        const updated = new Date(Date.UTC(2024, 0, 1) + number * 3_600_000).toISOString();
        return { id: 90_000 + number, number, title: `Issue ${number}`, updated_at: updated };
      },
    );
    const url =
      page === 1
        ? `/repos/${REPO}/issues?${query}`
        : `/repositories/${id}/issues?${query}&page=${page}`;
    const next = page < pages ? `/repositories/${id}/issues?${query}&page=${page + 1}` : undefined;
    recorder.get(url, issues, next ? { next } : {});
  }
  return recorder.fixtures;
}

export interface SaveRecord {
  saveCount: number;
  reason: string | null;
}

export interface Seed002Outcome {
  /** The saves seen after each page: count and reason, as the checkpoint recorded them. */
  saves: SaveRecord[];
  /** The state the interrupted run left: issues saved and its last save. */
  interrupted: { itemsDone: number; saveCount: number; lastSaveReason: string | null };
  issues: number;
  /** Recorded requests never made (empty: every page was fetched exactly once). */
  unfetched: string[];
  /** True when finish() deleted the checkpoint (auto cleanup). */
  cleanedUp: boolean;
}

/** Runs the job once; stops (as Ctrl+C or a crash would) after `stopAfterPages` pages. */
async function fetchIssues(
  store: CheckpointStore,
  baseUrl: string,
  seen: number[],
  saves: SaveRecord[],
  stopAfterPages?: number,
): Promise<{ finished: boolean; deleted: boolean }> {
  const run = await openRun({
    id: `fetch_${REPO.replace('/', '_')}`, // the seed's operation id
    store,
    config: { repo: REPO, endpoints: ['issues'] }, // never the token: the config's digest is stored
    strategy,
  });
  const source = githubSource({
    auth: FIXTURE_TOKEN,
    baseUrl,
    repos: [REPO],
    endpoints: ['issues'],
    perPage: PER_PAGE,
  });
  const sink: Sink<GithubRecord> = {
    write: (records) => {
      for (const record of records) {
        if (record.endpoint === 'issues') seen.push(Number(record.data['number']));
      }
      return undefined; // no id mappings
    },
  };
  const stop = new AbortController();
  let pages = 0;
  const result = await pipeline({
    run,
    source,
    sink,
    signal: AbortSignal.any([source.signal, stop.signal]),
    onProgress: (event) => {
      if (event.type !== 'page') return;
      const { saveCount, lastSaveReason } = run.checkpoint.meta;
      const last = saves.at(-1);
      if (saveCount > (last?.saveCount ?? 0)) saves.push({ saveCount, reason: lastSaveReason });
      if (++pages === stopAfterPages) stop.abort();
    },
  });
  if (result.aborted) {
    await run.close(); // saved, status interrupted: the next run resumes
    return { finished: false, deleted: false };
  }
  const { deleted } = await run.finish(); // the seed's finalize(): deleted with auto cleanup
  return { finished: true, deleted };
}

/**
 * The seed's v1.0 → v2.0 migration, and on to the canonical format: reads an old checkpoint
 * file (v1.0 or v2.0, recognised by content) and writes it into the store.
 */
export async function importLegacyCheckpoint(
  file: string,
  store: CheckpointStore,
): Promise<{ format: string; id: string; done: number; total: number | null }> {
  const { format, checkpoint } = parseCheckpointJson(await readFile(file, 'utf8'), { file });
  // Under the checkpoint's lock, so that a job running meanwhile cannot be written over.
  const lock = await store.lock(checkpoint.id);
  try {
    if (await store.load(checkpoint.id)) {
      throw new Error(`${file}: checkpoint ${checkpoint.id} exists already; not imported again`);
    }
    await store.append(checkpoint.id, checkpointToChanges(checkpoint));
  } finally {
    await lock.release();
  }
  const unit = Object.values(checkpoint.units)[0];
  return { format, id: checkpoint.id, done: unit?.done ?? 0, total: unit?.total ?? null };
}

/** A v1.0 file of the legacy system: file data as an array, progress at the top level. */
export const LEGACY_FILE = {
  version: '1.0',
  operation_id: 'fetch_prebid_master_modules',
  state: {
    files_data: [
      ['modules/appnexus.js', { size: 1200 }],
      ['modules/rubicon.js', { size: 900 }],
    ],
    processed_files: ['modules/appnexus.js', 'modules/rubicon.js'],
  },
  processed_items: 2,
  total_items: 10,
  created_at: '2024-01-15T10:30:00',
  last_updated: '2024-01-15T10:45:30',
};

export interface Seed002Options {
  /** The checkpoint directory. Default: a new temp dir (CHECKPOINT_DIR when run as a script). */
  dir?: string;
}

export async function main(
  options: Seed002Options = {},
): Promise<Seed002Outcome & { legacy: Awaited<ReturnType<typeof importLegacyCheckpoint>> }> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'recipe-002-')));
  const store = fileStore({ dir });
  const server = await startFixtureServer({ scenarios: { issues: recordedTraffic() } });
  try {
    const baseUrl = await server.load('issues');
    const seen: number[] = [];
    const saves: SaveRecord[] = [];
    await fetchIssues(store, baseUrl, seen, saves, 2); // stopped after 2 pages
    const stopped = await store.load('fetch_acme_api');
    const { deleted } = await fetchIssues(store, baseUrl, seen, saves); // resumes at page 3

    const legacyFile = join(dir, '.checkpoint_fetch_prebid_master_modules.json');
    await writeFile(legacyFile, JSON.stringify(LEGACY_FILE, null, 2));
    const legacy = await importLegacyCheckpoint(legacyFile, store);
    return {
      saves,
      interrupted: {
        itemsDone: stopped?.units[`repos/${REPO}/issues`]?.done ?? 0,
        saveCount: stopped?.meta.saveCount ?? 0,
        lastSaveReason: stopped?.meta.lastSaveReason ?? null,
      },
      issues: new Set(seen).size,
      unfetched: await server.pending(baseUrl),
      cleanedUp: deleted,
      legacy,
    };
  } finally {
    await server.close();
    await store.close?.();
  }
}

if (isMain(import.meta.url)) {
  const outcome = await main(
    process.env['CHECKPOINT_DIR'] ? { dir: process.env['CHECKPOINT_DIR'] } : {},
  );
  console.log(
    `Stopped after 2 pages with ${outcome.interrupted.itemsDone} issues saved (save #${outcome.interrupted.saveCount}: ${outcome.interrupted.lastSaveReason})`,
  );
  for (const save of outcome.saves) console.log(`save #${save.saveCount}: ${save.reason}`);
  console.log(
    `${outcome.issues} issues, ${outcome.unfetched.length === 0 ? 'no page fetched twice or skipped' : `never fetched: ${outcome.unfetched.join(', ')}`}; checkpoint ${outcome.cleanedUp ? 'deleted by finish()' : 'kept'}`,
  );
  console.log(
    `legacy ${outcome.legacy.format} file → checkpoint "${outcome.legacy.id}", ${outcome.legacy.done}/${outcome.legacy.total} items`,
  );
}
