/**
 * File store: what a durable flush costs on a huge checkpoint, how close durable flushes come to
 * the disk's own append + fdatasync rate, and what opening a huge checkpoint costs. All on a
 * temp directory of the local disk, removed at the end.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { always, type Checkpoint, openRun, type Unit } from '@checkpointkit/core';
import { checkpointFileName, fileStore, journalFileName } from '@checkpointkit/storage-file';
import writeFileAtomic from 'write-file-atomic';
import { hugeCheckpoint, MAPPINGS, UNITS, writeStoreFiles } from '../huge.js';
import { gc, note, report, type Suite, timeMedian } from '../lib.js';

// The seeds' design writes the whole document with write-file-atomic: the baseline does the same.

const ID = 'bench:huge';

/**
 * Median times of `a` and `b`, run alternately (a b a b ...) after a warm-up of each, with a
 * collection before every run: both see the same machine load and the same heap.
 */
async function pairedMedians(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  repeat: number,
): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  for (let i = -1; i < repeat; i++) {
    for (const [index, fn] of [a, b].entries()) {
      gc();
      const start = performance.now();
      await fn();
      if (i >= 0) times[index]!.push(performance.now() - start);
    }
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

/**
 * The least any open of the huge checkpoint costs while `units` is a plain object, whatever the
 * file's layout: read the file, make the million key strings (one JSON.parse of the keys alone),
 * build a million unit objects and insert them under those new strings. The same against a `Map`
 * says what changing the contract would buy. Both against the JSON.parse baseline of the open.
 */
async function openFloor(dir: string, plainPath: string): Promise<void> {
  const store = fileStore({ dir });
  const units = (await store.load(ID))!.units;
  await store.close();
  const keysJson = JSON.stringify(Object.keys(units));
  const values = Object.values(units);
  const build = (insert: (key: string, unit: Unit) => void) => {
    const keys = JSON.parse(keysJson) as string[];
    for (let i = 0; i < keys.length; i++) {
      const { status, attempts, cursor, done, total, startedAt, completedAt, error } = values[i]!;
      insert(keys[i]!, { status, attempts, cursor, done, total, startedAt, completedAt, error });
    }
  };
  const snapshot = join(dir, checkpointFileName(ID));
  const [record, parse] = await pairedMedians(
    async () => {
      await readFile(snapshot);
      const record: Record<string, Unit> = {};
      build((key, unit) => {
        record[key] = unit;
      });
    },
    async () => JSON.parse(await readFile(plainPath, 'utf8')),
    3,
  );
  const map = await timeMedian(async () => {
    await readFile(snapshot);
    const map = new Map<string, Unit>();
    build((key, unit) => map.set(key, unit));
  }, 3);
  note(
    'the least an open can cost with units as a plain object (read, 1M key strings, 1M unit objects inserted)',
    `${record.toFixed(0)} ms = ${(record / parse).toFixed(2)}x the JSON.parse baseline; into a Map instead: ${map.toFixed(0)} ms = ${(map / parse).toFixed(2)}x`,
  );
}

async function hugeCheckpointFigures(dir: string): Promise<void> {
  const plainPath = join(dir, 'plain.json');
  let checkpoint: Checkpoint | null = hugeCheckpoint(ID);
  await writeStoreFiles(dir, ID, checkpoint);
  // The seeds' design: serialize the whole document and write it atomically on every save.
  const seedSave = await timeMedian(
    () => writeFileAtomic(plainPath, JSON.stringify(checkpoint)),
    3,
  );
  checkpoint = null;

  // Opening, as a job starting up does: the snapshot (journal empty) against JSON.parse of the whole state.
  const [load, parse] = await pairedMedians(
    async () => {
      const store = fileStore({ dir });
      await store.load(ID);
      await store.close();
    },
    async () => JSON.parse(await readFile(plainPath, 'utf8')),
    3,
  );
  report({
    what: `opening a checkpoint of ${UNITS.toLocaleString('en')} units + ${MAPPINGS.toLocaleString('en')} id mappings (id maps parsed on first use)`,
    subject: {
      label: 'file store load (read, crc32, columns, validation)',
      value: load,
      unit: 'ms',
    },
    baseline: {
      label: 'readFile + JSON.parse of the same state as one document',
      value: parse,
      unit: 'ms',
    },
    kind: 'overhead',
    goal: 0.5,
  });
  await openFloor(dir, plainPath);
  // Memory held once open: the heap (and buffers) the loaded state keeps, after a full GC.
  const held = async (open: () => Promise<unknown>) => {
    gc();
    const before = process.memoryUsage();
    const value = await open();
    gc();
    const after = process.memoryUsage();
    const bytes = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    void value;
    return bytes;
  };
  const loadedBytes = await held(async () => {
    const store = fileStore({ dir });
    const loaded = await store.load(ID);
    await store.close();
    return loaded;
  });
  const parsedBytes = await held(async () => JSON.parse(await readFile(plainPath, 'utf8')));
  report({
    what: 'memory held after opening that checkpoint (heap + buffers, after a full GC)',
    subject: { label: 'file store load', value: loadedBytes / 2 ** 20, unit: 'MiB' },
    baseline: { label: 'JSON.parse of the same state', value: parsedBytes / 2 ** 20, unit: 'MiB' },
    kind: 'overhead',
    goal: 1.5,
  });

  const store = fileStore({ dir });
  const run = await openRun({ id: ID, store, strategy: always(), signals: false });
  const keys = run.pending().filter((_, i) => i % 2 === 1);
  const flushes = 200;
  let next = 0;
  const perFlush =
    (await timeMedian(async () => {
      for (let i = 0; i < flushes; i++) await run.complete(keys[next++]!);
    }, 3)) / flushes;
  await run.abandon();
  // What the flushes leave for later: a compaction, once the journal holds a quarter of the snapshot.
  const journalBytes = (await stat(join(dir, journalFileName(ID)))).size;
  const snapshotBytes = (await stat(join(dir, checkpointFileName(ID)))).size;
  const start = performance.now();
  await store.compact(ID);
  const compaction = performance.now() - start;
  const flushesPerCompaction =
    Math.max(1024 * 1024, snapshotBytes / 4) / (journalBytes / (flushes * 4));
  note(
    'compaction of that checkpoint',
    `${compaction.toFixed(0)} ms, due every ~${Math.round(flushesPerCompaction).toLocaleString('en')} such flushes: ${(compaction / flushesPerCompaction).toFixed(3)} ms per flush amortized (not in the figure below)`,
  );
  await store.close();
  report({
    what: `durable flush of one change, ${UNITS.toLocaleString('en')} units + ${MAPPINGS.toLocaleString('en')} id mappings`,
    subject: {
      label: 'file store flush (journal append + fdatasync)',
      value: perFlush,
      unit: 'ms',
    },
    baseline: {
      label: "seeds' design (JSON.stringify + write-file-atomic of the whole document)",
      value: seedSave,
      unit: 'ms',
    },
    kind: 'cheaper',
    goal: 200,
  });
}

/** The baseline of the flush figures: `count` appends of `line`, each fdatasynced before the next. */
async function rawAppends(handle: FileHandle, line: Buffer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await handle.write(line);
    await handle.datasync();
  }
}

async function flushRate(dir: string): Promise<void> {
  const flushes = 300;
  const store = fileStore({ dir });
  const run = await openRun({ id: 'bench:rate', store, strategy: always(), signals: false });
  await run.plan(['a/1']);
  let page = 0;
  const line = Buffer.from(
    `${JSON.stringify({ type: 'unit.progressed', at: new Date().toISOString(), key: 'a/1', cursor: { page: 1 }, done: 100 })}\n`,
  );
  const handle = await open(
    join(dir, 'raw.log'),
    constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
  );
  const [ours, raw] = await pairedMedians(
    async () => {
      for (let i = 0; i < flushes; i++)
        await run.progress('a/1', { cursor: { page: ++page }, items: 100 });
    },
    () => rawAppends(handle, line, flushes),
    5,
  );
  await handle.close();
  await run.close();
  await store.close();
  report({
    what: 'durable flushes per second with always() (one change per flush)',
    subject: {
      label: 'file store (Run + journal append + fdatasync)',
      value: (flushes / ours) * 1000,
      unit: 'flushes/s',
    },
    baseline: {
      label: 'raw append + fdatasync, same directory',
      value: (flushes / raw) * 1000,
      unit: 'flushes/s',
    },
    kind: 'throughput',
    goal: 0.5,
  });
}

/**
 * Group commit: with `always()` and 8 units in flight, the changes that arrive while one flush's
 * fdatasync runs are saved together by the next one, and each caller's promise still resolves
 * only once its change is durable. Measured against one raw append + fdatasync at a time.
 */
async function groupCommitRate(dir: string): Promise<void> {
  const perUnit = 100;
  const inFlight = 8;
  const store = fileStore({ dir });
  const run = await openRun({ id: 'bench:group', store, strategy: always(), signals: false });
  const keys = Array.from({ length: inFlight }, (_, i) => `unit/${i}`);
  await run.plan(keys);
  const line = Buffer.from(
    `${JSON.stringify({ type: 'unit.progressed', at: new Date().toISOString(), key: 'a/1', cursor: { page: 1 }, done: 100 })}\n`,
  );
  const handle = await open(
    join(dir, 'raw-group.log'),
    constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
  );
  let page = 0;
  const [ours, raw] = await pairedMedians(
    () =>
      Promise.all(
        keys.map(async (key) => {
          for (let i = 0; i < perUnit; i++)
            await run.progress(key, { cursor: { page: ++page }, items: 1 });
        }),
      ),
    () => rawAppends(handle, line, perUnit * inFlight),
    5,
  );
  await handle.close();
  await run.close();
  await store.close();
  report({
    what: `durable flushes per second with always() and ${inFlight} units in flight (group commit)`,
    subject: {
      label: 'file store (each flush resolved once durable; concurrent ones share an fdatasync)',
      value: ((perUnit * inFlight) / ours) * 1000,
      unit: 'flushes/s',
    },
    baseline: {
      label: 'raw append + fdatasync, one at a time',
      value: ((perUnit * inFlight) / raw) * 1000,
      unit: 'flushes/s',
    },
    kind: 'throughput',
    goal: 3,
  });
}

const suite: Suite = {
  name: 'storage-file: journal flushes, fsync rate, opening huge checkpoints',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'ck-bench-file-'));
    try {
      note('directory', `${tmpdir()} (local disk)`);
      await flushRate(dir);
      await groupCommitRate(dir);
      await hugeCheckpointFigures(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
