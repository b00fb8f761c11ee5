/**
 * Drives one seeded job through rounds of faults: each round is a process that opens the run,
 * does what a user would (resets failed units), runs `pipeline()` until it ends or a fault stops
 * it, and closes, crashes or finishes. After every round it checks what the store holds against
 * the sink's durable output; `runJob` returns once `finish()` succeeded.
 */
import { expect } from 'vitest';
import {
  always,
  anyOf,
  type Checkpoint,
  DEFAULT_STRATEGY,
  everyItems,
  everyUnits,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Run,
  replay,
  type SaveStrategy,
} from '../../../src/index.js';
import { prng } from '../../../src/testing/index.js';
import {
  Faults,
  faultySink,
  faultySource,
  faultyStore,
  Incarnation,
  pagesRead,
  prefixOf,
  type Shape,
  shapeOf,
  transactionalSink,
} from './faulty-parts.js';

/** Strategies, and what each saves before the run's promise resolves: every page, every unit. */
const STRATEGIES: [string, () => SaveStrategy, 'page' | 'unit' | null][] = [
  ['always()', always, 'page'],
  ['everyUnits(1)', () => everyUnits(1), 'unit'],
  ['everyUnits(3)', () => everyUnits(3), null],
  ['everyItems(4)', () => everyItems(4), null],
  ['anyOf(everyUnits(2), everyItems(3))', () => anyOf(everyUnits(2), everyItems(3)), null],
  ['DEFAULT_STRATEGY', () => DEFAULT_STRATEGY, 'unit'],
];

export interface JobOutcome {
  shape: Shape;
  files: Map<string, string[]>;
  stored: Checkpoint;
  rounds: number;
  /** Says how to replay: the seed, the settings it chose and the faults that struck. */
  story: string;
}

/**
 * The sink: one that records its file lengths as `meta` (exactly-once), a plain one
 * (at-least-once), or one that writes through the store's transactions (exactly-once).
 */
export type SinkKind = 'meta' | 'plain' | 'transactional';

/** Runs the job of `seed` until it finished, with faults (`faulty`) or without. */
export async function runJob(seed: number, kind: SinkKind, faulty = true): Promise<JobOutcome> {
  const rand = prng(seed);
  const shape = shapeOf(rand);
  const [strategyName, strategy, saves] = STRATEGIES[Math.floor(rand() * STRATEGIES.length)]!;
  const concurrency = 1 + Math.floor(rand() * 3);
  const faults = new Faults(rand, faulty ? 2 + Math.floor(rand() * 12) : 0, 0.05 + rand() * 0.2);
  const storage = new MemoryStorage();
  const files = new Map<string, string[]>();
  const story = () =>
    `seed ${seed} (${kind} sink, ${strategyName}, ` +
    `concurrency ${concurrency}, units ${JSON.stringify([...shape.units])})\n` +
    faults.log.join('\n');
  const MAX_ROUNDS = 40;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    faults.round = round;
    const process = new Incarnation();
    const tables = kind === 'transactional' ? files : undefined;
    const store = faultyStore(memoryStore(storage), process, faults, tables);
    let run: Run;
    try {
      run = await openRun({ id: 'job', store, strategy: strategy(), signals: false });
    } catch (error) {
      faults.log.push(`round ${round}: openRun rejected: ${String(error)}`);
      continue;
    }
    process.run = run;
    let finished = false;
    let failuresLeft = 0;
    const unsaved: string[] = [];
    try {
      // What a user does after a failed run: retry every failure, or reset the ones that are
      // not retryable (keeping their cursor) and let the pipeline retry the rest.
      const retryAll = rand() < 0.3;
      if (!retryAll) {
        for (const [key, unit] of Object.entries(run.checkpoint.units)) {
          if (unit.status === 'failed' && !unit.error?.retryable) await run.reset(key);
        }
      }
      const result = await pipeline({
        run,
        source: faultySource(shape, process, faults),
        sink:
          kind === 'transactional'
            ? transactionalSink(process, faults)
            : faultySink(files, kind === 'meta', process, faults),
        concurrency,
        retryFailed: retryAll ? true : 'retryable',
        signal: process.abort.signal,
        onProgress: (event) => {
          // A change whose save the run's promise waited for is in the store once it resolved.
          // Not checked after a crash (no code of a dead process runs), nor with a transactional
          // sink (a save waits while a transaction is open).
          if (process.dead || kind === 'transactional' || !saves) return;
          const entry = storage.entries.get('job');
          const unit =
            entry &&
            replay(entry.snapshot, entry.log)?.units[event.type === 'planned' ? '' : event.key];
          if (
            event.type === 'page' &&
            saves === 'page' &&
            unit?.done !== run.unit(event.key)?.done
          ) {
            unsaved.push(`${event.key}: page resolved, store has ${JSON.stringify(unit)}`);
          }
          if (event.type === 'unit-completed' && unit?.status !== 'complete') {
            unsaved.push(`${event.key}: completion resolved, store has ${JSON.stringify(unit)}`);
          }
        },
      });
      failuresLeft = result.failures.count;
      if (!result.aborted && result.summary.counts.complete === result.summary.total) {
        await run.finish({ cleanup: false });
        finished = true;
      }
    } catch (error) {
      faults.log.push(`round ${round}: stopped by ${String(error)}`);
    }
    let saved = finished;
    if (!process.dead && !run.closed) {
      try {
        await run.close();
        saved = true;
      } catch (error) {
        faults.log.push(`round ${round}: close rejected: ${String(error)}`);
      }
    }
    expect(unsaved, story()).toEqual([]);
    // Every unit complete: none may be reported failed.
    if (finished) expect(failuresLeft, story()).toBe(0);
    const stored = (await memoryStore(storage).load('job'))!;
    checkStored(shape, files, stored, kind, round + 1, story);
    if (saved) {
      // The run's last save resolved: the store holds all the run knows, nothing less or more.
      const part = ({ units, idMaps, stats, status, meta }: Readonly<Checkpoint>) => ({
        units,
        idMaps,
        stats,
        status,
        user: meta.user,
      });
      expect(part(stored), story()).toEqual(part(run.checkpoint));
    }
    if (finished) {
      expect(stored.status, story()).toBe('completed');
      return { shape, files, stored, rounds: round + 1, story: story() };
    }
  }
  throw new Error(`the job did not finish in ${MAX_ROUNDS} rounds: ${story()}`);
}

/**
 * What the store holds agrees with the sink's durable output: each unit's `done` counts the
 * items of the pages before its cursor; with the exactly-once sink the recorded file length is
 * `done`, the file starts with exactly those items, and each of them is mapped to its line.
 */
function checkStored(
  shape: Shape,
  files: Map<string, string[]>,
  stored: Checkpoint,
  kind: SinkKind,
  rounds: number,
  story: () => string,
): void {
  const mapped = stored.idMaps['out'] ?? {};
  let mappings = 0;
  for (const [key, unit] of Object.entries(stored.units)) {
    const pages = shape.units.get(key);
    expect(pages, `${story()}\nunknown unit ${key}`).toBeDefined();
    const read = pagesRead(unit.cursor);
    const expected = prefixOf(shape, key, read);
    const where = `${story()}\nunit ${key}: ${JSON.stringify(unit)}`;
    expect(unit.done, where).toBe(expected.length);
    if (unit.status === 'complete') expect(read, where).toBe(pages!.length);
    // One start per pipeline call at most: a batch applied twice would count its start twice.
    expect(unit.attempts, where).toBeLessThanOrEqual(rounds);
    if (kind === 'plain') continue;
    const file = files.get(key) ?? [];
    if (kind === 'transactional') {
      // Rows commit with their cursor: the table holds exactly the pages the checkpoint holds.
      expect(file, where).toEqual(expected);
    } else {
      expect(stored.meta.user[`sink:${key}`] ?? 0, where).toBe(expected.length);
      expect(file.slice(0, expected.length), where).toEqual(expected);
    }
    // Each item maps to its line of the output.
    const mine = Object.fromEntries(expected.map((item) => [item, mapped[item]]));
    expect(mine, where).toEqual(Object.fromEntries(expected.map((item, line) => [item, line])));
    mappings += expected.length;
  }
  if (kind !== 'plain') expect(Object.keys(mapped).length, story()).toBe(mappings);
  expect(stored.stats['idMapConflicts'], story()).toBeUndefined();
}
