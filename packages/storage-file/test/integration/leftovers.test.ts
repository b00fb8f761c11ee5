/**
 * A checkpoint whose snapshot and journal were removed outside the store (by hand, a cleanup
 * script, a sync tool), leaving its previous generation or its ack mark: the store's own removals
 * take those first, so what is left says the checkpoint existed. Opening it must not start a new
 * checkpoint beside the old history (a later repair took the old previous snapshot for the new
 * checkpoint's and dropped the new batches as covered); it must refuse, naming the files, and
 * `repair` or `delete` must deal with what is left.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { always, openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACK_SUFFIX,
  CheckpointFileError,
  checkpointFileName,
  type FileStoreWarning,
  fileStore,
  journalFileName,
  PREVIOUS_SUFFIX,
  readCheckpointFiles,
  readCheckpointFilesAt,
  SNAPSHOT_SUFFIX,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ID = 'job:leftovers';
const KEYS = Array.from({ length: 8 }, (_, i) => `u/${i}`);

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-leftovers-');
});
afterEach(() => removeDir(dir));

const snapshot = () => join(dir, checkpointFileName(ID));
const journal = () => join(dir, journalFileName(ID));
const ack = () => snapshot().replace(SNAPSHOT_SUFFIX, ACK_SUFFIX);

/** A job of 8 units, all complete, compacted twice: its previous generation holds all of it. */
async function writeJob(): Promise<void> {
  const store = fileStore({ dir, compactAfter: 400 });
  const run = await openRun({ id: ID, store, strategy: always(), signals: false });
  await run.plan(KEYS);
  // Two compactions for certain (the store's own, after `compactAfter`, runs when it gets to it):
  // the second keeps the first one's snapshot as the previous generation.
  for (const key of KEYS.slice(0, 4)) await run.complete(key, { items: 1 });
  await run.flush();
  await store.compact(ID);
  for (const key of KEYS.slice(4)) await run.complete(key, { items: 1 });
  await run.close();
  await store.compact(ID);
  await store.close();
}

/** What openRun rejects with, or the run's units when it opens. */
async function open(store: ReturnType<typeof fileStore>) {
  const outcome = await openRun({ id: ID, store, signals: false }).catch((e: unknown) => e);
  if (outcome instanceof Error) return outcome;
  const run = outcome as Awaited<ReturnType<typeof openRun>>;
  const complete = KEYS.filter((key) => run.unit(key)?.status === 'complete');
  await run.close();
  return complete;
}

describe('snapshot and journal removed outside the store', () => {
  it('with the previous generation left: open refuses naming it, repair recovers the checkpoint from it', async () => {
    await writeJob();
    await rm(snapshot());
    await rm(journal());
    const before = (await readdir(dir)).sort();
    const store = fileStore({ dir, onWarning: () => {} });
    const refused = await open(store);
    // Before: a new, empty checkpoint; a repair later brought the old one back over it.
    expect(refused).toBeInstanceOf(CheckpointFileError);
    expect(refused).toMatchObject({ kind: 'missing', file: snapshot() });
    expect(String(refused)).toContain(snapshot() + PREVIOUS_SUFFIX);
    expect((await readdir(dir)).sort()).toEqual(before);

    const report = await store.repair(ID);
    expect(report).toMatchObject({ recoveredFrom: 'previous snapshot', exists: true, lost: null });
    expect(report.damage.map((d) => d.kind)).toEqual(['missing']);
    expect(await open(store)).toEqual(KEYS);
    await store.close();
  });

  it('with only the ack mark left: open refuses as for a cut journal, delete clears it', async () => {
    await writeJob();
    for (const file of [snapshot(), journal()]) {
      await rm(file);
      await rm(file + PREVIOUS_SUFFIX);
    }
    expect(await readdir(dir)).toEqual([ack().slice(dir.length + 1)]);
    const store = fileStore({ dir, onWarning: () => {} });
    const refused = await open(store);
    expect(refused).toBeInstanceOf(CheckpointFileError);
    expect(refused).toMatchObject({ kind: 'lost', file: journal() });
    expect(String(refused)).toContain(ack());
    // A direct append (no load first) is refused too, and writes nothing.
    await expect(
      store.append(ID, [
        { type: 'created', id: ID, at: new Date().toISOString(), configDigest: null },
      ]),
    ).rejects.toMatchObject({ kind: 'lost' });
    expect(await readdir(dir)).toEqual([ack().slice(dir.length + 1)]);

    // Something was deleted: what a `checkpointkit rm` reports.
    expect(await store.delete(ID)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    expect(await store.delete(ID)).toBe(false);
    expect(await open(store)).toEqual([]);
    await store.close();
  });

  it('repair of only an ack mark reports the acknowledged batches as lost and clears the mark', async () => {
    await writeJob();
    for (const file of [snapshot(), journal()]) {
      await rm(file);
      await rm(file + PREVIOUS_SUFFIX);
    }
    const store = fileStore({ dir, onWarning: () => {} });
    const report = await store.repair(ID);
    expect(report).toMatchObject({ exists: false, lost: { found: 0 } });
    expect(report.lost!.acked).toBeGreaterThan(KEYS.length);
    expect(await readdir(dir)).toEqual([]);
    expect(await open(store)).toEqual([]);
    await store.close();
  });

  it('readers without the lock and list() name what is left instead of seeing no checkpoint', async () => {
    await writeJob();
    await rm(snapshot());
    await rm(journal());
    // What `checkpointkit show`, `rm` and `repair` read first: "no checkpoint" sent users away.
    await expect(readCheckpointFiles(dir, ID)).rejects.toMatchObject({ kind: 'missing' });
    await expect(readCheckpointFilesAt(snapshot())).rejects.toMatchObject({ kind: 'missing' });
    const warnings: FileStoreWarning[] = [];
    const store = fileStore({ dir, onWarning: (warning) => warnings.push(warning) });
    expect(await store.list()).toEqual([]);
    // Whether the snapshot has a previous generation besides the journal's depends on whether a
    // compaction ran during the job as well as the one after it (timing): name what is there.
    const left = (await readdir(dir))
      .filter((name) => name.endsWith(PREVIOUS_SUFFIX))
      .map((name) => join(dir, name));
    expect(left).toContain(journal() + PREVIOUS_SUFFIX);
    expect(warnings).toEqual([expect.objectContaining({ code: 'unreadable-checkpoint' })]);
    for (const file of left) expect(warnings[0]?.message).toContain(`${file}`);
    await store.close();
  });
});
