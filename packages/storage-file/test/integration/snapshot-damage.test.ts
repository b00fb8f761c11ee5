/**
 * A damaged snapshot must not cost the history: a compaction keeps the pair it replaces (the
 * previous generation), so `repair` rebuilds every acknowledged change from it and the journals.
 * A single-byte flip of a small snapshot (every byte of its envelope, a third of its body's) is
 * either harmless (the state reads the same) or detected, and then repaired with nothing acknowledged lost. Repair's report says what it kept,
 * recovered and dropped, and keeps every byte it replaces.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { always, type Checkpoint, openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  checkpointFileName,
  decodeAck,
  fileStore,
  journalFileName,
  PREVIOUS_SUFFIX,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ID = 'job:generations';
const UNITS = 12;

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-generations-');
});
afterEach(() => removeDir(dir));

const file = (name: string) => join(dir, name);
const snapshotPath = () => file(checkpointFileName(ID));
const journalPath = () => file(journalFileName(ID));

/**
 * A job of 12 units, each completed in a flush of its own, with compactions on the way (a
 * small threshold), and a last compaction followed by more flushes: the snapshot, the journal
 * after it, and the previous generation all hold part of the history.
 */
async function writeJob(): Promise<Checkpoint> {
  const keys = Array.from({ length: UNITS }, (_, i) => `u/${i}`);
  const compacting = fileStore({ dir, compactAfter: 600 });
  const first = await openRun({ id: ID, store: compacting, strategy: always(), signals: false });
  await first.plan(keys);
  for (const key of keys.slice(0, -3)) await first.complete(key, { items: 1 });
  await first.close();
  await compacting.compact(ID);
  await compacting.close();
  // The last three flushes stay in the journal alone.
  const store = fileStore({ dir, compactAfter: 1e9 });
  const second = await openRun({ id: ID, store, strategy: always(), signals: false });
  for (const key of keys.slice(-3)) await second.complete(key, { items: 1 });
  await second.close();
  await store.close();
  const state = await fileStore({ dir }).load(ID);
  if (!state) throw new Error('the job wrote no checkpoint');
  return state;
}

/** Every file of the store directory with its bytes. */
async function filesOf(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) files.set(entry.name, await readFile(file(entry.name)));
  }
  return files;
}

async function restore(files: Map<string, Buffer>): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!files.has(name)) await rm(file(name), { recursive: true, force: true });
  }
  for (const [name, bytes] of files) await writeFile(file(name), bytes);
}

describe('a damaged snapshot', () => {
  it('every single-byte flip tried is harmless or repaired from the previous generation, with nothing acknowledged lost', async () => {
    const expected = await writeJob();
    const pristine = await filesOf();
    // The compactions kept the previous generation beside the current pair.
    expect([...pristine.keys()]).toContain(checkpointFileName(ID) + PREVIOUS_SUFFIX);
    expect([...pristine.keys()]).toContain(journalFileName(ID) + PREVIOUS_SUFFIX);
    const snapshot = pristine.get(checkpointFileName(ID))!;
    const masks = [0x01, 0x20, 0x80, 0xff];

    // Every byte of the envelope's head and tail, and every third of the body between, which
    // its crc32 covers alike (each flip costs a repair: the body whole took minutes in CI).
    const body = snapshot.indexOf('"data":') + '"data":'.length;
    const offsets = [...snapshot.keys()].filter(
      (offset) => offset < body || offset >= snapshot.length - 8 || (offset - body) % 3 === 0,
    );

    let repaired = 0;
    for (const [i, offset] of offsets.entries()) {
      await restore(pristine);
      const flipped = Buffer.from(snapshot);
      flipped[offset] = flipped[offset]! ^ masks[i % masks.length]!;
      await writeFile(snapshotPath(), flipped);
      const store = fileStore({ dir, onWarning: () => {} });
      const read = await store.load(ID).catch((error: unknown) => error);
      if (!(read instanceof Error)) {
        // Undetected: only a flip that changes nothing may pass.
        expect(read, `flip at byte ${offset}`).toEqual(expected);
        continue;
      }
      expect(read, `flip at byte ${offset}`).toBeInstanceOf(CheckpointFileError);
      const report = await store.repair(ID);
      expect(report, `flip at byte ${offset}`).toMatchObject({
        recoveredFrom: 'previous snapshot',
        droppedBatches: 0,
        lost: null,
        snapshotLost: false,
        exists: true,
      });
      const asideSnapshot = report.movedAside.find((f) => f.includes('.checkpoint.json.corrupt-'));
      expect((await readFile(asideSnapshot!)).equals(flipped)).toBe(true);
      expect(await fileStore({ dir }).load(ID), `flip at byte ${offset}`).toEqual(expected);
      await store.close();
      repaired += 1;
    }
    // Nearly every byte is covered by the envelope's check or the body's crc32.
    expect(repaired).toBeGreaterThan(offsets.length * 0.9);
  });

  it('a deleted snapshot: repair says what was damaged, keeps the journal, and recovers everything', async () => {
    const expected = await writeJob();
    const journal = await readFile(journalPath());
    await rm(snapshotPath());
    const store = fileStore({ dir });
    const read = await store.load(ID).catch((error: unknown) => error);
    expect((read as CheckpointFileError).kind).toBe('missing');

    const report = await store.repair(ID);
    expect(report.damage).toEqual([
      expect.objectContaining({ file: journalPath(), kind: 'missing', line: 1 }),
    ]);
    expect(report).toMatchObject({
      recoveredFrom: 'previous snapshot',
      droppedBatches: 0,
      droppedBytes: 0,
      lost: null,
      units: UNITS,
    });
    // The journal repair replaced is kept, byte for byte.
    expect(report.movedAside).toHaveLength(1);
    expect((await readFile(report.movedAside[0]!)).equals(journal)).toBe(true);
    expect(await store.load(ID)).toEqual(expected);
    await store.close();
  });

  it('a flipped journal header drops no batch: only the header line', async () => {
    const expected = await writeJob();
    const journal = await readFile(journalPath());
    const headerLength = journal.indexOf(10) + 1;
    const damaged = Buffer.from(journal);
    damaged[10] = damaged[10]! ^ 0x01;
    await writeFile(journalPath(), damaged);
    const store = fileStore({ dir });
    const report = await store.repair(ID);
    expect(report.damage[0]).toMatchObject({ file: journalPath(), line: 1 });
    expect(report).toMatchObject({
      recoveredFrom: 'snapshot',
      droppedBatches: 0,
      droppedBytes: headerLength,
      lost: null,
    });
    expect(await store.load(ID)).toEqual(expected);
    await store.close();
  });

  it('an empty journal right after a compaction drops nothing', async () => {
    const store = fileStore({ dir });
    const expected = await writeJob();
    await store.compact(ID);
    await writeFile(journalPath(), '');
    const report = await store.repair(ID);
    expect(report.damage[0]).toMatchObject({ file: journalPath(), kind: 'checksum' });
    expect(report).toMatchObject({ droppedBatches: 0, droppedBytes: 0, lost: null });
    expect(await store.load(ID)).toEqual(expected);
    await store.close();
  });

  it('junk for a journal: its bytes are dropped, the acknowledged batches it held are named as lost', async () => {
    const expected = await writeJob();
    const snapshotSeq = JSON.parse((await readFile(snapshotPath(), 'utf8')).split('\n')[1]!).seq;
    const acked = decodeAck(await readFile(file(`${checkpointFileName(ID).slice(0, -5)}.ack`)))!;
    expect(acked).toBeGreaterThan(snapshotSeq + 3);
    const junk = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) % 251;
    await writeFile(journalPath(), junk);
    const store = fileStore({ dir });
    const report = await store.repair(ID);
    // The batches after the last compaction (the second run's) were in the journal alone.
    expect(report).toMatchObject({
      recoveredFrom: 'snapshot',
      droppedBatches: acked - snapshotSeq,
      droppedRanges: [[snapshotSeq + 1, acked]],
      lost: { acked, found: snapshotSeq },
    });
    expect(report.droppedBytes).toBe(junk.length - (report.tornTail?.bytes ?? 0));
    const aside = report.movedAside.find((f) => f.includes('.checkpoint.jsonl.corrupt-'));
    expect((await readFile(aside!)).equals(junk)).toBe(true);
    // The state of the last compaction: the last three completions are redone.
    const state = await store.load(ID);
    expect(Object.keys(state!.units)).toEqual(Object.keys(expected.units));
    const complete = (c: Checkpoint) =>
      Object.values(c.units).filter((u) => u.status === 'complete').length;
    expect(complete(state!)).toBe(complete(expected) - 3);
    await store.close();
  });

  it('delete removes the previous generation too, so a new checkpoint of the id never inherits it', async () => {
    await writeJob();
    const store = fileStore({ dir });
    expect(await store.delete(ID)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    await store.close();
  });
});
