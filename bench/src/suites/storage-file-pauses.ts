/**
 * File store pauses: while a job flushes continuously on a checkpoint of a million units and a
 * million id mappings, how long is its event loop ever stalled by the store, compactions
 * included (they run in a worker thread), and what does a flush take (p50, p99, max)?
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { always, openRun } from '@checkpointkit/core';
import { fileStore, journalFileName } from '@checkpointkit/storage-file';
import { hugeCheckpoint, MAPPINGS, UNITS, writeStoreFiles } from '../huge.js';
import { limit, note, type Suite } from '../lib.js';

const ID = 'bench:pauses';
const FLUSHES = 1500;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function pauses(dir: string): Promise<void> {
  await writeStoreFiles(dir, ID, hugeCheckpoint(ID));
  // A compaction every ~500 flushes, so the window holds some (each takes seconds at this size).
  const store = fileStore({ dir, compactAfter: Number(process.env.CK_COMPACT_AFTER ?? 100_000) });
  const run = await openRun({ id: ID, store, strategy: always(), signals: false });
  const keys = run.pending();
  const base = async () =>
    JSON.parse((await readFile(join(dir, journalFileName(ID)), 'utf8')).split('\n')[0]!)
      .base as number;
  const baseBefore = await base();

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const latencies: number[] = [];
  for (let i = 0; i < FLUSHES; i++) {
    const start = performance.now();
    await run.complete(keys[i]!);
    latencies.push(performance.now() - start);
  }
  delay.disable();
  await run.abandon();
  await store.close();
  const compactions = (await base()) > baseBefore;

  latencies.sort((a, b) => a - b);
  note(
    `flush latency over ${FLUSHES} flushes (always(), ${UNITS.toLocaleString('en')} units + ${MAPPINGS.toLocaleString('en')} mappings, compactions ${compactions ? 'included' : 'NOT reached'})`,
    `p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(0)} ms (compactions are prepared beside the flushes, and switch over between two of them)`,
  );
  limit(
    'longest event-loop stall while flushing, compactions included (monitorEventLoopDelay max)',
    delay.max / 1e6,
    50,
  );
}

const suite: Suite = {
  name: 'storage-file: event-loop stalls and flush latency at a million units',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'ck-bench-pauses-'));
    try {
      await pauses(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
