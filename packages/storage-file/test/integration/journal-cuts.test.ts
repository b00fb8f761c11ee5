/**
 * A journal cut or torn, as a user's store finds it: a crash can tear only the batch in flight,
 * so a journal that ends before the last acknowledged batch lost acknowledged changes. The store
 * must tell the two apart, say so on every read, refuse to build on a cut journal, and never cut
 * bytes without keeping them aside.
 */
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { always, CheckpointFormatError, openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  type FileStoreWarning,
  fileStore,
  journalFileName,
  readCheckpointFiles,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ID = 'job:cuts';
const UNITS = 40;

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-cuts-');
});
afterEach(() => removeDir(dir));

/** A checkpoint of 40 units, each completed in a flush of its own: 41 acknowledged batches. */
async function writeJob(): Promise<string> {
  const store = fileStore({ dir, compactAfter: 1e9 });
  const run = await openRun({ id: ID, store, strategy: always(), signals: false });
  await run.plan(Array.from({ length: UNITS }, (_, i) => `u/${i}`));
  for (let i = 0; i < UNITS; i++) await run.complete(`u/${i}`, { items: 1 });
  await run.close();
  await store.close();
  return join(dir, journalFileName(ID));
}

describe('a journal cut short', () => {
  it('is damage, not a torn tail: every reader says so, the store refuses to write on it, and repair keeps it aside', async () => {
    const journal = await writeJob();
    const whole = await readFile(journal);
    // Cut in the middle: some 20 acknowledged batches gone, the rest of one left as a "tail".
    await truncate(journal, Math.floor(whole.length / 2));
    const cut = await readFile(journal);

    const read = await readCheckpointFiles(dir, ID);
    expect(read!.lost).not.toBeNull();
    expect(read!.lost!.acked).toBeGreaterThan(read!.lost!.found);
    expect(read!.checkpoint.units['u/39']!.status).toBe('pending');

    const warnings: FileStoreWarning[] = [];
    const store = fileStore({ dir, onWarning: (w) => warnings.push(w) });
    expect((await store.list()).map((l) => l.id)).toEqual([ID]);
    expect(warnings.map((w) => w.code)).toEqual(['lost-batches']);
    expect(warnings[0]!.message).toContain(`but batch ${read!.lost!.acked} was acknowledged`);

    const refused = await openRun({ id: ID, store, signals: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CheckpointFileError);
    expect(refused).toMatchObject({ kind: 'lost', file: journal });
    expect((await readFile(journal)).equals(cut)).toBe(true);

    const report = await store.repair(ID);
    expect(report.lost).toEqual(read!.lost);
    // The journal as it was found, and the partial batch the cut left, which repair cuts off.
    const copy = report.movedAside.find((name) => name.includes('.corrupt-'))!;
    expect((await readFile(copy)).equals(cut)).toBe(true);
    const tail = report.movedAside.find((name) => name.includes('.torn-'))!;
    expect(Buffer.concat([await readFile(journal), await readFile(tail)]).length).toBe(cut.length);
    const run = await openRun({ id: ID, store, strategy: always(), signals: false });
    // It goes on from what the cut journal held: the state every reader showed.
    const shown = Object.values(read!.checkpoint.units).filter((u) => u.status === 'complete');
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(UNITS - 1);
    expect(run.summary().counts.complete).toBe(shown.length);
    await run.complete('u/39', { items: 1 });
    await run.close();
    expect((await readCheckpointFiles(dir, ID))!.lost).toBeNull();
    await store.close();
  });

  it('a torn batch after the last acknowledged one is a crash: read, and kept aside when the next save cuts it', async () => {
    const journal = await writeJob();
    const torn = Buffer.from('{"type":"unit.reset","at":"2026-01-01T00:00:00.000Z","key":"u/1"');
    await writeFile(journal, Buffer.concat([await readFile(journal), torn]));
    const read = await readCheckpointFiles(dir, ID);
    expect(read!.lost).toBeNull();
    expect(read!.tornTail).toMatchObject({ bytes: torn.length });

    const warnings: FileStoreWarning[] = [];
    const store = fileStore({ dir, onWarning: (w) => warnings.push(w) });
    const run = await openRun({ id: ID, store, strategy: always(), signals: false });
    expect(warnings.map((w) => w.code)).toEqual(['torn-tail']);
    expect(run.summary().counts.complete).toBe(UNITS);
    await run.count('after');
    await run.close();
    await store.close();
    const aside = (await readdir(dir)).filter((name) => name.includes('.torn-'));
    expect(aside).toHaveLength(1);
    expect((await readFile(join(dir, aside[0]!))).equals(torn)).toBe(true);
    const after = await readCheckpointFiles(dir, ID);
    expect(after).toMatchObject({ tornTail: null, lost: null });
    expect(after!.checkpoint.stats['after']).toBe(1);
  });

  it('a last batch that lost only its final newline is kept, and the next save goes on after it', async () => {
    const journal = await writeJob();
    const whole = await readFile(journal);
    await truncate(journal, whole.length - 1);
    const read = await readCheckpointFiles(dir, ID);
    expect(read).toMatchObject({ tornTail: null, lost: null });
    expect(read!.checkpoint.units['u/39']!.status).toBe('complete');
    const store = fileStore({ dir, onWarning: () => {} });
    const run = await openRun({ id: ID, store, strategy: always(), signals: false });
    await run.count('after');
    await run.close();
    await store.close();
    const after = await readCheckpointFiles(dir, ID);
    expect(after).toMatchObject({ tornTail: null, lost: null });
    expect(after!.checkpoint.units['u/39']!.status).toBe('complete');
    expect(after!.checkpoint.stats['after']).toBe(1);
    expect(CheckpointFormatError).toBeDefined();
  });
});
