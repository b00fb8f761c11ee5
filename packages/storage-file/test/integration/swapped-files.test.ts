/**
 * Files of two checkpoints mixed up (a copy gone wrong, a rename): each is refused with a
 * `mismatch` error naming a file that holds the other checkpoint, and nothing is modified.
 */
import { copyFile, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  checkpointFileName,
  fileStore,
  journalFileName,
  readCheckpointFiles,
} from '../../src/index.js';
import { writeSample } from '../helpers/fixture.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-swapped-');
});
afterEach(() => removeDir(dir));

const snapshotOf = (id: string) => join(dir, checkpointFileName(id));
const journalOf = (id: string) => join(dir, journalFileName(id));

/** What every way of reading `id` throws: the store's load, openRun, and the lock-free reader. */
async function refusals(id: string): Promise<unknown[]> {
  const store = fileStore({ dir, onWarning: () => {} });
  const errors = [
    await store.load(id).catch((e: unknown) => e),
    await openRun({ id, store, signals: false }).catch((e: unknown) => e),
    await readCheckpointFiles(dir, id).catch((e: unknown) => e),
  ];
  await store.close();
  return errors;
}

describe('files of another checkpoint', () => {
  it('refuses a snapshot and a journal of two checkpoints, naming the journal', async () => {
    await writeSample(dir, 'job:a');
    await writeSample(dir, 'job:b');
    await rename(journalOf('job:a'), join(dir, 'aside'));
    await rename(journalOf('job:b'), journalOf('job:a'));
    await rename(join(dir, 'aside'), journalOf('job:b'));
    const before = await readFile(journalOf('job:a'));
    for (const error of await refusals('job:a')) {
      expect(error).toBeInstanceOf(CheckpointFileError);
      expect(error).toMatchObject({ kind: 'mismatch', file: journalOf('job:a') });
      expect((error as Error).message).toContain('"job:b"');
    }
    expect((await readFile(journalOf('job:a'))).equals(before)).toBe(true);
  });

  it('refuses a journal of another checkpoint where there is no snapshot, naming the journal', async () => {
    // A journal that holds a whole checkpoint (from batch 1), copied under another id's name.
    const fresh = fileStore({ dir });
    await fresh.append('job:c', [
      { type: 'created', at: new Date().toISOString(), id: 'job:c', configDigest: null },
    ]);
    await fresh.close();
    await copyFile(journalOf('job:c'), journalOf('job:a'));
    for (const error of await refusals('job:a')) {
      expect(error).toBeInstanceOf(CheckpointFileError);
      // The file that holds the other checkpoint: the journal (there is no snapshot to name).
      expect(error).toMatchObject({ kind: 'mismatch', file: journalOf('job:a') });
      expect((error as Error).message).toContain('"job:c"');
    }
    expect(await readFile(snapshotOf('job:a')).catch(() => null)).toBeNull();
  });
});
