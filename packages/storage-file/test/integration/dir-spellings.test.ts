/**
 * One folder reached by several spellings (a symlink, `a/../a`), ids that differ only in case or
 * Unicode normalization, and the folder renamed or deleted under a run that holds a checkpoint.
 */
import { mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { always, LockLostError, openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileStore, readCheckpointFiles } from '../../src/index.js';
import { type Child, lockOutcomeOf, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let root: string;
let dir: string;
beforeEach(async () => {
  root = await tempDir('ck-spellings-');
  dir = join(root, 'real');
  await mkdir(dir);
});
afterEach(() => removeDir(root));

describe('one folder, several spellings', () => {
  it('lets exactly one process hold a checkpoint, whichever spelling each one uses', async () => {
    await symlink(dir, join(root, 'link'));
    const spellings = [dir, join(root, 'link'), join(dir, '..', 'real'), `${root}/link/../real`];
    for (let round = 0; round < 3; round++) {
      const id = `spelled:${round}`;
      const children: Child[] = spellings.map((spelling) => startChild(['hold', spelling, id]));
      try {
        const outcomes = await Promise.all(
          children.map(async (child) => await lockOutcomeOf(child)),
        );
        const winners = outcomes.filter((o) => o.locked);
        expect(winners).toHaveLength(1);
        for (const { refused } of outcomes.filter((o) => o.refused)) {
          expect(refused).toMatchObject({
            name: 'CheckpointLockedError',
            owner: { pid: winners[0]!.locked!.pid },
          });
        }
      } finally {
        for (const child of children) child.process.kill('SIGKILL');
        await Promise.all(children.map((child) => child.exited));
      }
    }
  });
});

describe('ids that differ only in case or normalization', () => {
  it('are separate checkpoints with separate files and locks', async () => {
    const ids = ['Café', 'café', 'CAFÉ', 'Cafe\u0301', 'cafe\u0301'];
    expect(new Set(ids).size).toBe(ids.length);
    const store = fileStore({ dir });
    const runs = [];
    for (const [i, id] of ids.entries()) {
      const run = await openRun({ id, store, strategy: always(), signals: false });
      await run.count('which', i + 1);
      runs.push(run);
    }
    for (const run of runs) await run.close();
    await store.close();
    for (const [i, id] of ids.entries()) {
      const read = await readCheckpointFiles(dir, id);
      expect(read!.checkpoint.id).toBe(id);
      expect(read!.checkpoint.stats['which']).toBe(i + 1);
    }
    expect((await readdir(dir)).filter((name) => name.endsWith('.checkpoint.jsonl'))).toHaveLength(
      ids.length,
    );
  });
});

describe('the folder moved away from under a run', () => {
  for (const move of ['renamed', 'deleted'] as const) {
    it(`(${move}) refuses the run's next flush and writes nothing anywhere`, async () => {
      const store = fileStore({ dir });
      const run = await openRun({ id: 'job:moved', store, strategy: always(), signals: false });
      await run.count('n');
      if (move === 'renamed') await rename(dir, join(root, 'moved'));
      else await rm(dir, { recursive: true });
      const listing = async () => (await readdir(root)).sort();
      const before = await listing();
      await expect(run.count('n')).rejects.toBeInstanceOf(LockLostError);
      await expect(store.compact('job:moved')).rejects.toBeInstanceOf(LockLostError);
      expect(await listing()).toEqual(before);
      if (move === 'renamed') {
        expect(
          (await readCheckpointFiles(join(root, 'moved'), 'job:moved'))!.checkpoint.stats['n'],
        ).toBe(1);
      }
      await run.close().catch(() => {});
      await store.close();
    });
  }
});
