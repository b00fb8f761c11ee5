/**
 * A compaction runs beside the appends and carries the batches appended meanwhile into the new
 * journal. Here the journal it started from lost only its final newline (a cut one byte short,
 * which the store reads as whole): the next append writes that newline first, and the carried
 * bytes must not take it along, or the new journal holds an empty line and every acknowledged
 * batch after it becomes unreadable.
 */
import { readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Change } from '@checkpointkit/core';
import { changeLog } from '@checkpointkit/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeSnapshot } from '../../src/format/snapshot.js';
import {
  checkpointFileName,
  fileStore,
  journalFileName,
  readCheckpointFiles,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ID = 'job:carry';
const TRIES = 40;

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-carry-');
});
afterEach(() => removeDir(dir));

/** A checkpoint of two batches whose journal lacks its final newline. */
async function writeUnterminated(): Promise<void> {
  const log = changeLog(ID);
  const store = fileStore({ dir, compactAfter: 1e9 });
  await store.append(ID, log.slice(0, 8));
  await store.append(ID, log.slice(8));
  await store.close();
  const journal = join(dir, journalFileName(ID));
  await truncate(journal, (await stat(journal)).size - 1);
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('a compaction that starts from a journal without its final newline', () => {
  it('carries the batches appended meanwhile into a journal that reads back whole', async () => {
    let carried = 0;
    for (let attempt = 0; attempt < TRIES; attempt++) {
      await writeUnterminated();
      const store = fileStore({ dir, compactAfter: 1e9, onWarning: () => {} });
      const before = await store.load(ID);
      // Start the compaction, let it get a varying way into preparing, then append: some
      // appends land before it read the journal, some while it prepares (those are carried).
      const compaction = store.compact(ID);
      for (let i = 0; i < attempt; i++) await tick();
      const change: Change = { type: 'counter.added', name: 'late', by: 1 };
      await store.append(ID, [change]);
      await compaction;
      await store.close();

      const snapshot = decodeSnapshot(await readFile(join(dir, checkpointFileName(ID))), 'x');
      const read = await readCheckpointFiles(dir, ID);
      expect(read, `attempt ${attempt}`).not.toBeNull();
      expect(read!.checkpoint.stats['late']).toBe((before!.stats['late'] ?? 0) + 1);
      expect(read!.tornTail).toBeNull();
      // The append came after the snapshot was prepared: it was carried in the new journal.
      if (snapshot.checkpoint.stats['late'] === undefined) carried += 1;
      await removeDir(dir);
    }
    // Some attempts must have hit the window, or this test proves nothing.
    expect(carried).toBeGreaterThan(0);
  });
});
