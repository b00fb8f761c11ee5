import { readdirSync } from 'node:fs';
import {
  always,
  type CheckpointStore,
  MemoryStorage,
  memoryStore,
  openRun,
  type PipelineEvent,
  type PipelineResult,
  pipeline,
  type Run,
  type SaveStrategy,
  type Sink,
} from '@checkpointkit/core';
import {
  type GithubLog,
  type GithubRecord,
  type GithubSourceOptions,
  githubSource,
} from '../src/index.js';
import {
  FIXTURE_TOKEN,
  type Fixture,
  type FixtureServer,
  readScenario,
  recordedScenario,
  startFixtureServer,
} from '../src/testing/index.js';

/** Our own scenarios (test/scenarios/*.json) and the compositions of recorded ones. */
export function allScenarios(): Record<string, Fixture[]> {
  const dir = new URL('./scenarios/', import.meta.url);
  const scenarios: Record<string, Fixture[]> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    scenarios[file.slice(0, -'.json'.length)] = readScenario(new URL(file, dir));
  }
  return { ...scenarios, ...recordedCompositions() };
}

/**
 * Recorded traffic, as @octokit/fixtures holds it. A named repository is looked up first, so
 * paginate-issues is preceded by the recorded repository lookup (renamed to it); of
 * rename-repository the source makes the GETs: the 301 and the lookup it leads to.
 */
function recordedCompositions(): Record<string, Fixture[]> {
  const lookup = recordedScenario('get-repository')[0] as Fixture;
  const paginateLookup: Fixture = {
    ...lookup,
    path: '/repos/octokit-fixture-org/paginate-issues',
    response: {
      ...(lookup.response as object),
      name: 'paginate-issues',
      full_name: 'octokit-fixture-org/paginate-issues',
    },
  };
  const rename = recordedScenario('rename-repository').filter((f) => f.method === 'get');
  const renamedIssues: Fixture = {
    ...(recordedScenario('paginate-issues')[4] as Fixture),
    path: '/repos/octokit-fixture-org/rename-repository-newname/issues?per_page=3',
  };
  return {
    'paginate-issues': [paginateLookup, ...recordedScenario('paginate-issues')],
    'rename-repository': [...rename, renamedIssues],
  };
}

export async function startServer(): Promise<FixtureServer> {
  return startFixtureServer({ scenarios: allScenarios() });
}

/** A log that keeps every line. */
export function memoryLog(): GithubLog & { lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string, ...rest: unknown[]) =>
    void lines.push([message, ...rest.map(String)].join(' '));
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}

/** A sink that keeps `repository/endpoint/id` of each record. */
export function recordingSink(
  onWrite?: (items: readonly GithubRecord[]) => void,
): Sink<GithubRecord> & {
  records: GithubRecord[];
  keys(): string[];
} {
  const records: GithubRecord[] = [];
  return {
    records,
    keys: () => records.map(recordKey),
    write(items) {
      onWrite?.(items);
      records.push(...items);
      return undefined;
    },
  };
}

export const recordKey = (r: GithubRecord) =>
  `${r.repository}/${r.endpoint}${r.pullNumber !== undefined ? `#${r.pullNumber}` : ''}/${String(r.data['id'] ?? r.data['sha'])}`;

/** A store that can be made to die: after `kill()` nothing is acknowledged, as after a crash. */
export function mortalStore(storage: MemoryStorage): CheckpointStore & { kill(): void } {
  const inner = memoryStore(storage);
  let dead = false;
  return {
    ...inner,
    kill: () => {
      dead = true;
    },
    async append(id, changes) {
      if (dead) throw new Error('process died');
      return inner.append(id, changes);
    },
  };
}

export interface CollectOptions {
  server: FixtureServer;
  baseUrl: string;
  storage?: MemoryStorage;
  source: Omit<GithubSourceOptions, 'auth' | 'octokit'> & { auth?: string };
  strategy?: SaveStrategy;
  sink?: ReturnType<typeof recordingSink>;
  /** Simulates a crash right after the k-th page was saved: the store dies, the run stops. */
  crashAfterPage?: number;
  log?: GithubLog;
  onEvent?: (event: PipelineEvent, run: Run) => void;
  /** Runs the pipeline without the source's signal (a caller that did not wire it). */
  ignoreSourceSignal?: boolean;
}

export interface Collected {
  result: PipelineResult | null;
  run: Run;
  storage: MemoryStorage;
  source: ReturnType<typeof githubSource>;
  sink: ReturnType<typeof recordingSink>;
  crashed: boolean;
}

/** Runs one collection (one "process") against a loaded scenario. */
export async function collect(options: CollectOptions): Promise<Collected> {
  const storage = options.storage ?? new MemoryStorage();
  const store = mortalStore(storage);
  const run = await openRun({
    id: 'github',
    store,
    strategy: options.strategy ?? always(),
    signals: false,
  });
  const source = githubSource({
    auth: FIXTURE_TOKEN,
    baseUrl: options.baseUrl,
    retryAfterBaseMs: 1,
    log: options.log ?? memoryLog(),
    ...options.source,
  });
  const sink = options.sink ?? recordingSink();
  const crash = new AbortController();
  let pages = 0;
  let crashed = false;
  const onProgress = (event: PipelineEvent) => {
    options.onEvent?.(event, run);
    if (event.type === 'page' && ++pages === options.crashAfterPage) {
      crashed = true;
      store.kill();
      crash.abort();
    }
  };
  const signal = options.ignoreSourceSignal
    ? crash.signal
    : AbortSignal.any([source.signal, crash.signal]);
  try {
    const result = await pipeline({ run, source, sink, signal, onProgress });
    if (!crashed) await run.close();
    else await run.abandon();
    return { result, run, storage, source, sink, crashed };
  } catch (error) {
    if (!crashed) {
      // A run stopped by its own error (refused credentials) releases its lock for the rerun.
      await run.close();
      throw error;
    }
    await run.abandon();
    return { result: null, run, storage, source, sink, crashed };
  }
}

/** How many times each record reached the sink. */
export function counts(keys: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const key of keys) map.set(key, (map.get(key) ?? 0) + 1);
  return map;
}
