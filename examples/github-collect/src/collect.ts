/**
 * Collects a GitHub organization into JSON Lines, with a progress bar, resumably.
 *
 *   GITHUB_TOKEN=ghp_... GITHUB_ORG=acme pnpm --filter checkpointkit-example-github-collect start
 *       Real GitHub. Ctrl+C, a crash or a rate limit stops it; run it again to resume.
 *       Also: GITHUB_ENDPOINTS (default pulls,issues), GITHUB_SINCE, GITHUB_PER_PAGE,
 *       GITHUB_API_URL (GitHub Enterprise), GITHUB_OUTPUT (default ./github-output), CHECKPOINT_DIR.
 *   pnpm --filter checkpointkit-example-github-collect start
 *       Offline: GitHub's recorded traffic served on 127.0.0.1. The run is interrupted halfway,
 *       then resumed from its checkpoint, and the server checks that no page was fetched twice.
 */
import { rm } from 'node:fs/promises';
import {
  anyOf,
  type CheckpointStore,
  DEFAULT_STRATEGY,
  formatFailures,
  MemoryStorage,
  memoryStore,
  onRateLimit,
  openRun,
  pipeline,
} from '@checkpointkit/core';
import { ENDPOINTS, type GithubEndpoint, githubSource } from '@checkpointkit/source-github';
import { FIXTURE_TOKEN, startFixtureServer } from '@checkpointkit/source-github/testing';
import { fileStore } from '@checkpointkit/storage-file';
import { progressBar } from './progress.js';
import { OFFLINE_ENDPOINTS, OFFLINE_ORG, OFFLINE_PER_PAGE, offlineScenario } from './recording.js';
import { githubJsonLines } from './sink.js';

const output = process.env['GITHUB_OUTPUT'] ?? 'github-output';
const token = process.env['GITHUB_TOKEN'];

interface Job {
  org: string;
  endpoints: GithubEndpoint[];
  since: string | null;
  perPage: number;
  /** Only for the offline recordings. */
  baseUrl?: string;
  auth: string;
}

/** Runs the collection once; true when it finished, false when it stopped and can be resumed. */
async function collect(
  job: Job,
  store: CheckpointStore,
  stopAfterPages?: number,
): Promise<boolean> {
  const { auth, baseUrl, ...config } = job; // never the token in the config: its digest is stored
  const run = await openRun({
    id: `github-collect:${job.org}`,
    store,
    config: {
      org: config.org,
      endpoints: config.endpoints,
      since: config.since,
      perPage: config.perPage,
    },
    // The default (every page, every finished unit) and, once 10% of the rate limit is left,
    // every change. What a crash costs: the page in flight is fetched again (one request); the
    // sink writes nothing twice.
    strategy: anyOf(DEFAULT_STRATEGY, onRateLimit(0.1)),
  });
  if (run.resumed) {
    const s = run.summary();
    console.log(
      `Resuming: ${s.counts.complete}/${s.total} units done, ${s.items.done} records collected.`,
    );
  } else {
    console.log(
      `Collecting ${job.org}: ${job.endpoints.join(', ')}. Press Ctrl+C at any time, then run me again.`,
    );
  }
  const source = githubSource({
    auth,
    ...(baseUrl && { baseUrl }),
    org: job.org,
    endpoints: job.endpoints,
    perPage: job.perPage,
    ...(job.since && { since: job.since }),
  });
  const interrupt = new AbortController();
  let pages = 0;
  const bar = progressBar();
  const result = await pipeline({
    run,
    source,
    sink: githubJsonLines(output),
    signal: AbortSignal.any([source.signal, interrupt.signal]),
    onProgress: (event) => {
      bar.update(event);
      if (event.type === 'page' && ++pages === stopAfterPages) interrupt.abort();
    },
  });
  bar.stop();
  if (result.aborted) {
    if (source.signal.aborted) console.error(String((source.signal.reason as Error).message));
    await run.close(); // saved, status "interrupted": the next run resumes
    return false;
  }
  const { summary, deleted } = await run.finish();
  const failed = summary.counts.failed;
  console.log(
    `Done: ${summary.items.done} records from ${summary.counts.complete} units into ./${output}` +
      (failed > 0 ? `, ${failed} unit${failed === 1 ? '' : 's'} failed` : '') +
      (deleted ? '.' : ', checkpoint kept.'),
  );
  // Last words: the failures (counts, first errors, how to retry), impossible to miss.
  const failures = formatFailures(result.failures);
  if (failures) console.log(failures);
  if (result.failures.count > 0) process.exitCode = 1; // kept: the next run retries them
  return true;
}

if (token) {
  const org = process.argv[2] ?? process.env['GITHUB_ORG'];
  if (!org) {
    console.error('Name the organization: GITHUB_ORG=acme, or as the first argument.');
    process.exit(2);
  }
  const endpoints = (process.env['GITHUB_ENDPOINTS'] ?? 'pulls,issues').split(
    ',',
  ) as GithubEndpoint[];
  const unknown = endpoints.filter((e) => !ENDPOINTS.includes(e));
  if (unknown.length > 0) {
    console.error(
      `GITHUB_ENDPOINTS: unknown ${unknown.join(', ')}; choose among ${ENDPOINTS.join(', ')}`,
    );
    process.exit(2);
  }
  const apiUrl = process.env['GITHUB_API_URL']; // GitHub Enterprise (and GitHub Actions) set it
  const job: Job = {
    org,
    endpoints,
    since: process.env['GITHUB_SINCE'] ?? null,
    perPage: Number(process.env['GITHUB_PER_PAGE'] ?? 100),
    ...(apiUrl && { baseUrl: apiUrl }),
    auth: token,
  };
  // The file store: CHECKPOINT_DIR, else ./.checkpoints. A rate-limit stop exits with 75 (try later).
  if (!(await collect(job, fileStore()))) process.exitCode = 75;
} else {
  console.log(
    'GITHUB_TOKEN is not set: collecting offline, from GitHub traffic recorded in @octokit/fixtures format.',
  );
  const server = await startFixtureServer({ scenarios: { org: offlineScenario() } });
  const job: Job = {
    org: OFFLINE_ORG,
    endpoints: [...OFFLINE_ENDPOINTS],
    since: null,
    perPage: OFFLINE_PER_PAGE,
    baseUrl: await server.load('org'),
    auth: FIXTURE_TOKEN,
  };
  await rm(output, { recursive: true, force: true });
  // The recordings live as long as this process, so the checkpoint does too (memory store).
  const storage = new MemoryStorage();
  const stopAfter = Number(process.env['OFFLINE_INTERRUPT_AFTER'] ?? 20);
  const finished = await collect(job, memoryStore(storage), stopAfter);
  if (!finished) {
    console.log(`\nStopped after ${stopAfter} pages, as Ctrl+C or a crash would. Starting again:`);
    await collect(job, memoryStore(storage));
  }
  const left = await server.pending(job.baseUrl as string);
  console.log(
    left.length === 0
      ? 'The recording was read request by request, in order: no page fetched twice, none skipped.'
      : `Requests never made: ${left.join(', ')}`,
  );
  await server.close();
  if (left.length > 0) process.exitCode = 1;
}
