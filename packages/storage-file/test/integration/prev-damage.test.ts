/**
 * The previous generation damaged too: repair reports it, and keeps its bytes aside like every
 * other file it could not read, so the next compaction (which replaces the previous generation)
 * does not delete the only copy of what it held.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { always, openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkpointFileName,
  fileStore,
  journalFileName,
  PREVIOUS_SUFFIX,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ID = 'job:prev-damage';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-prev-damage-');
});
afterEach(() => removeDir(dir));

/** A job of 8 units with compactions on the way: the previous generation holds part of it. */
async function writeJob(): Promise<void> {
  const store = fileStore({ dir, compactAfter: 400 });
  const run = await openRun({ id: ID, store, strategy: always(), signals: false });
  const keys = Array.from({ length: 8 }, (_, i) => `u/${i}`);
  await run.plan(keys);
  for (const key of keys) await run.complete(key, { items: 1 });
  await run.close();
  await store.compact(ID);
  await store.close();
}

/** Flips one byte in the middle of a file, and returns the damaged bytes. */
async function flipMiddle(path: string): Promise<Buffer> {
  const bytes = await readFile(path);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
  await writeFile(path, bytes);
  return bytes;
}

/** The bytes of every file in the store directory kept aside by repair. */
async function keptAside(): Promise<Buffer[]> {
  const names = (await readdir(dir)).filter((name) => name.includes('.corrupt-'));
  return Promise.all(names.map((name) => readFile(join(dir, name))));
}

describe('a damaged previous generation', () => {
  for (const damaged of ['snapshot', 'journal'] as const) {
    it(`(${damaged}) is kept aside by repair, and outlives the next compaction`, async () => {
      await writeJob();
      const previous = join(
        dir,
        (damaged === 'snapshot' ? checkpointFileName(ID) : journalFileName(ID)) + PREVIOUS_SUFFIX,
      );
      const bytes = await flipMiddle(previous);
      // The current snapshot is damaged too: repair must look at the previous generation.
      await flipMiddle(join(dir, checkpointFileName(ID)));

      const store = fileStore({ dir, onWarning: () => {} });
      const report = await store.repair(ID);
      expect(report.damage.map((d) => d.file)).toContain(previous);
      expect(report.movedAside.length).toBeGreaterThan(0);
      // The run goes on and finishes with a compaction, which replaces the previous generation.
      const run = await openRun({ id: ID, store, strategy: always(), signals: false });
      await run.count('after-repair');
      await run.finish({ cleanup: false });
      await store.close();
      expect((await keptAside()).some((kept) => kept.equals(bytes))).toBe(true);
    });
  }
});

describe('a damaged previous generation beside a readable checkpoint', () => {
  for (const damaged of ['snapshot', 'journal'] as const) {
    it(`(${damaged}) is reported by repair and kept aside, and the checkpoint is left as it was`, async () => {
      await writeJob();
      const previous = join(
        dir,
        (damaged === 'snapshot' ? checkpointFileName(ID) : journalFileName(ID)) + PREVIOUS_SUFFIX,
      );
      const bytes = await flipMiddle(previous);
      const current = await readFile(join(dir, checkpointFileName(ID)));

      const store = fileStore({ dir, onWarning: () => {} });
      const report = await store.repair(ID);
      await store.close();
      // The fallback repair would need if the snapshot were damaged next is gone: say so.
      expect(report.damage.map((d) => d.file)).toEqual([previous]);
      expect(report.recoveredFrom).toBeNull();
      expect(report.units).toBe(8);
      // Its bytes are kept, where the next compaction (which replaces it) does not reach them.
      expect(report.movedAside).toHaveLength(1);
      expect((await readFile(report.movedAside[0]!)).equals(bytes)).toBe(true);
      // The checkpoint itself is untouched.
      expect((await readFile(join(dir, checkpointFileName(ID)))).equals(current)).toBe(true);
    });
  }

  it('is not reported when it reads whole', async () => {
    await writeJob();
    const store = fileStore({ dir, onWarning: () => {} });
    const report = await store.repair(ID);
    await store.close();
    expect(report.damage).toEqual([]);
    expect(report.movedAside).toEqual([]);
    expect(await keptAside()).toEqual([]);
  });
});
