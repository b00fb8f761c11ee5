/**
 * A reader without the lock (the CLI, VS Code) while a writer process flushes and compacts as
 * fast as it can: every read is a state the writer acknowledged, never a mix, never going back.
 */
import { hostname } from 'node:os';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readCheckpointFiles, readLockOwner } from '../../src/index.js';
import { killHard, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-reader-');
});
afterEach(() => removeDir(dir));

it('reads a consistent state while a writer appends and compacts', async () => {
  const id = 'read:while-writing';
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
      const parsed = await readCheckpointFiles(dir, id);
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
