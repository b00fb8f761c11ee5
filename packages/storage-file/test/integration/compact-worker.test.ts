/**
 * A large compaction runs in a worker thread: the job's event loop goes on meanwhile (its
 * flushes, lock refreshes and signal handling), and the result is the same as on the thread.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emptyCheckpoint, emptyUnit } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkpointFileName,
  encodeJournalHeader,
  encodeSnapshot,
  fileStore,
  journalFileName,
  PREVIOUS_SUFFIX,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ID = 'job:large';
const UNITS = 200_000;

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-compact-worker-');
});
afterEach(() => removeDir(dir));

/** A checkpoint of 200,000 units as a snapshot, then a journal of a few flushes. */
async function writeLarge(): Promise<void> {
  const checkpoint = emptyCheckpoint(ID, new Date().toISOString(), null);
  for (let i = 0; i < UNITS; i++) checkpoint.units[`unit/${i}`] = emptyUnit(10);
  await writeFile(join(dir, checkpointFileName(ID)), encodeSnapshot(checkpoint, 0));
  await writeFile(join(dir, journalFileName(ID)), encodeJournalHeader(ID, 0));
  const store = fileStore({ dir });
  const at = new Date().toISOString();
  for (let i = 0; i < 5; i++) {
    await store.append(ID, [{ type: 'unit.completed', at, key: `unit/${i}`, done: 10 }]);
  }
  await store.close();
}

/**
 * The share of `work`'s time this thread's event loop was busy (running JavaScript rather than
 * waiting for I/O or a message): a ratio, not a time, so a slow machine does not change it much.
 */
async function busyShare(work: () => Promise<unknown>): Promise<number> {
  const before = performance.eventLoopUtilization();
  await work();
  return performance.eventLoopUtilization(before).utilization;
}

describe('compaction in a worker thread', () => {
  it('leaves the event loop free while it reads, replays and encodes, and writes the same state', async () => {
    await writeLarge();
    const expected = await fileStore({ dir }).load(ID);

    const inWorker = fileStore({ dir, compactInWorkerAbove: 0 });
    const workerBusy = await busyShare(() => inWorker.compact(ID));
    await inWorker.close();
    const compacted = await readFile(join(dir, checkpointFileName(ID)));
    expect(await fileStore({ dir }).load(ID)).toEqual(expected);
    // The journal now continues the new snapshot, and the previous generation was kept.
    expect((await readFile(join(dir, journalFileName(ID)), 'utf8')).split('\n')).toHaveLength(2);
    expect(
      (await readFile(join(dir, checkpointFileName(ID) + PREVIOUS_SUFFIX))).length,
    ).toBeGreaterThan(0);

    // On the calling thread, the same compaction gives the same bytes, and blocks the loop.
    const onThread = fileStore({ dir, compactInWorkerAbove: Number.POSITIVE_INFINITY });
    await writeFile(join(dir, journalFileName(ID)), encodeJournalHeader(ID, 5));
    await onThread.append(ID, [{ type: 'counter.added', name: 'x', by: 1 }]);
    const threadBusy = await busyShare(() => onThread.compact(ID));
    await onThread.close();
    console.log(
      `event loop busy: ${workerBusy.toFixed(2)} with the worker, ${threadBusy.toFixed(2)} on the thread`,
    );
    expect(compacted.length).toBeGreaterThan(UNITS * 10);
    // With the worker, this thread mostly waits; on the thread, it parses and encodes.
    expect(workerBusy).toBeLessThan(0.5);
    expect(threadBusy).toBeGreaterThan(workerBusy * 2);
  });

  it('lets appends go on while it prepares, and carries them into the new journal', async () => {
    await writeLarge();
    const store = fileStore({ dir, compactInWorkerAbove: 0 });
    await store.load(ID);
    let compacted = false;
    const compaction = store.compact(ID).then(() => {
      compacted = true;
    });
    const at = new Date().toISOString();
    let beforeCompacted = 0;
    for (let i = 5; i < 25; i++) {
      await store.append(ID, [{ type: 'unit.completed', at, key: `unit/${i}`, done: 10 }]);
      if (!compacted) beforeCompacted += 1;
    }
    await compaction;
    await store.append(ID, [{ type: 'unit.completed', at, key: 'unit/25', done: 10 }]);
    await store.close();
    // The appends did not wait for the compaction (with the queue held, none would have).
    expect(beforeCompacted).toBeGreaterThan(0);
    const state = await fileStore({ dir }).load(ID);
    const complete = Object.entries(state!.units).filter(([, u]) => u.status === 'complete');
    expect(complete.map(([key]) => key).sort()).toEqual(
      Array.from({ length: 26 }, (_, i) => `unit/${i}`).sort(),
    );
    // The new journal continues the new snapshot and holds the batches appended meanwhile.
    const journal = (await readFile(join(dir, journalFileName(ID)), 'utf8')).split('\n');
    expect(JSON.parse(journal[0]!).base).toBeGreaterThan(5);
    expect(journal.length).toBeGreaterThan(2);
  });
});
