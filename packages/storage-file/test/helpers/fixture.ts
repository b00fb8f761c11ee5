import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Change } from '@checkpointkit/core';
import { changeLog, prng } from '@checkpointkit/core/testing';
import { checkpointFileName, fileStore, journalFileName } from '../../src/index.js';

/** A deterministic pseudo-random generator (mulberry32), so a failing mutation can be replayed. */
export const random = prng;

/**
 * Writes a checkpoint whose snapshot and journal both hold changes: a compaction after the
 * first part of the log, then several batches. Returns the bytes of both files and the log.
 */
export async function writeSample(dir: string, id: string) {
  const log: Change[] = changeLog(id);
  const store = fileStore({ dir, onWarning: () => {} });
  await store.append(id, log.slice(0, 8));
  await store.compact(id);
  await store.append(id, log.slice(8, 12));
  await store.append(id, log.slice(12, 16));
  await store.append(id, log.slice(16));
  await store.close();
  const snapshotPath = join(dir, checkpointFileName(id));
  const journalPath = join(dir, journalFileName(id));
  return {
    log,
    snapshotPath,
    journalPath,
    snapshot: await readFile(snapshotPath),
    journal: await readFile(journalPath),
  };
}
