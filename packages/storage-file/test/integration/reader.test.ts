/**
 * A reader without the lock (the CLI, VS Code) while a writer process flushes and compacts as
 * fast as it can: every read is a state the writer acknowledged, never a mix, never going back.
 */
import { copyFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  checkpointFileName,
  fileStore,
  journalFileName,
  readCheckpointFiles,
  readCheckpointFilesAt,
  readLockOwner,
} from '../../src/index.js';
import { killHard, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-reader-');
});
afterEach(() => removeDir(dir));

it('reads a consistent state while a writer appends and compacts, by id or by file', async () => {
  const id = 'read:while-writing';
  // By id, by the snapshot's path and by the journal's (`checkpointkit show <path>`), in turn.
  const readers = [
    () => readCheckpointFiles(dir, id),
    () => readCheckpointFilesAt(join(dir, checkpointFileName(id))),
    () => readCheckpointFilesAt(join(dir, journalFileName(id))),
  ];
  const child = startChild(['writer', dir, id, '1024']);
  await child.waitFor((line) => line.startsWith('ack 5'));
  try {
    expect(await readLockOwner(dir, id)).toMatchObject({
      pid: child.process.pid,
      host: hostname(),
    });
    let last = 0;
    let reads = 0;
    let changed = 0;
    while (reads < 400) {
      const parsed = await readers[reads % readers.length]!();
      expect(parsed!.lost).toBeNull();
      const checkpoint = parsed!.checkpoint;
      const n = checkpoint.stats['n'] ?? 0;
      const mapped = checkpoint.idMaps['m'] ?? {};
      expect(Object.keys(mapped)).toHaveLength(n); // whole batches only
      for (let i = 0; i < n; i++) expect(mapped[`s${i}`]).toBe(i);
      expect(n).toBeGreaterThanOrEqual(last); // never back in time
      if (n > last) changed += 1;
      last = n;
      reads += 1;
    }
    expect(changed).toBeGreaterThan(10); // the writer really was writing
  } finally {
    await killHard(child);
  }
});

it('reads a pair by file even when its name is not its id, and refuses a name not of the store', async () => {
  const store = fileStore({ dir });
  const at = new Date(0).toISOString();
  await store.append('real:id', [
    { type: 'created', at, id: 'real:id', configDigest: 'ab'.repeat(32) },
  ]);
  await store.close?.();
  const copy = join(dir, 'copy.checkpoint.jsonl');
  await copyFile(join(dir, journalFileName('real:id')), copy);
  expect((await readCheckpointFilesAt(copy))?.checkpoint.id).toBe('real:id');
  expect(await readCheckpointFilesAt(join(dir, 'none.checkpoint.json'))).toBeNull();
  await expect(readCheckpointFilesAt(join(dir, 'notes.txt'))).rejects.toThrow(
    /notes\.txt is not named as a file store's snapshot or journal/,
  );
});
