import { appendFile, readdir, readFile, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type Change,
  CheckpointError,
  CheckpointLockedError,
  LockLostError,
  replay,
} from '@checkpointkit/core';
import { changeLog } from '@checkpointkit/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  checkpointFileName,
  type FileStoreWarning,
  fileStore,
  journalFileName,
  lockFileName,
  parseCheckpointFiles,
  readCheckpointFiles,
  readLockOwner,
} from '../../src/index.js';
import { writeSample } from '../helpers/fixture.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const at = '2026-03-01T00:00:00.000Z';
const started: Change = { type: 'unit.started', at, key: 'collect/acme/api/issues' };

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => removeDir(dir));

const paths = (id: string) => ({
  snapshot: join(dir, checkpointFileName(id)),
  journal: join(dir, journalFileName(id)),
  lock: join(dir, lockFileName(id)),
});

describe('torn journal tails', () => {
  it('drops and reports a tail cut short by a crash, then cuts it off before the next append', async () => {
    const id = 'torn:1';
    const sample = await writeSample(dir, id);
    await appendFile(
      sample.journalPath,
      '{"type":"counter.added","name":"x","by":1}\n{"commit":5,"chan',
    );
    const torn = await readFile(sample.journalPath);
    const warnings: FileStoreWarning[] = [];
    const store = fileStore({ dir, onWarning: (w) => warnings.push(w) });

    expect(await store.load(id)).toEqual(replay(null, sample.log));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      code: 'torn-tail',
      checkpointId: id,
      file: sample.journalPath,
    });
    expect(warnings[0]!.message).toContain(`${sample.journalPath}:`);
    expect((await readFile(sample.journalPath)).equals(torn)).toBe(true); // loading never writes

    const parsed = await readCheckpointFiles(dir, id);
    expect(parsed?.tornTail).toEqual({
      line: torn.toString().split('\n').length - 1,
      bytes: torn.length - sample.journal.length,
    });

    await store.append(id, [started]);
    expect((await readCheckpointFiles(dir, id))?.tornTail).toBeNull();
    expect(await fileStore({ dir }).load(id)).toEqual(replay(null, [...sample.log, started]));
    await store.close();
  });

  it('counts complete change lines without their commit line as torn too: an append is all or nothing', async () => {
    const id = 'torn:2';
    const sample = await writeSample(dir, id);
    await appendFile(sample.journalPath, `${JSON.stringify(started)}\n`);
    const parsed = await readCheckpointFiles(dir, id);
    expect(parsed?.checkpoint).toEqual(replay(null, sample.log));
    expect(parsed?.tornTail?.bytes).toBe(JSON.stringify(started).length + 1);
  });
});

describe('a compaction cut short', () => {
  it('resolves a new snapshot beside the old journal to the right state, and goes on appending', async () => {
    const id = 'cut:1';
    const sample = await writeSample(dir, id);
    const store = fileStore({ dir });
    await store.compact(id);
    // The crash came after the new snapshot was renamed in, before the journal was replaced;
    // the temp file of the journal is still there too.
    await writeFile(sample.journalPath, sample.journal);
    await writeFile(`${sample.journalPath}.123456`, 'half a journal');
    const expected = replay(null, sample.log);
    expect(await fileStore({ dir }).load(id)).toEqual(expected);
    expect((await readCheckpointFiles(dir, id))?.journalChanges).toBe(0);
    await store.append(id, [started]);
    expect(await fileStore({ dir }).load(id)).toEqual(replay(null, [...sample.log, started]));
    expect((await store.list()).map((l) => l.id)).toEqual([id]);
    await store.close();
  });

  it('keeps the old state when the crash came before the new snapshot was renamed in', async () => {
    const id = 'cut:2';
    const sample = await writeSample(dir, id);
    await writeFile(`${sample.snapshotPath}.987654`, 'half a snapshot');
    expect(await fileStore({ dir }).load(id)).toEqual(replay(null, sample.log));
  });
});

describe('appends', () => {
  it('refuses a change it could not read back, and writes nothing', async () => {
    const id = 'bad:1';
    const store = fileStore({ dir });
    await store.append(id, changeLog(id).slice(0, 3));
    const before = await readFile(paths(id).journal);
    for (const bad of [
      { type: 'unit.progressed', at, key: 'a', cursor: 1, done: Number.NaN },
      { type: 'unit.progressed', at, key: 'a', cursor: undefined, done: 1 },
      { type: 'unit.started', at: 'yesterday', key: 'a' },
      { type: 'no.such.change' },
    ]) {
      const error = await store
        .append(id, [started, bad as unknown as Change])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toContain('change 1');
    }
    expect((await readFile(paths(id).journal)).equals(before)).toBe(true);
    await store.close();
  });

  it('refuses to start a checkpoint with anything but "created"', async () => {
    const store = fileStore({ dir });
    await expect(store.append('headless', [started])).rejects.toThrow(/must start with "created"/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('compacts when the journal passes the threshold, keeping the state', async () => {
    const id = 'compact:1';
    const store = fileStore({ dir, compactAfter: 1024 });
    const log = changeLog(id);
    await store.append(id, log.slice(0, 1));
    const counters: Change[] = Array.from({ length: 200 }, (_, i) => ({
      type: 'counter.added',
      name: `c${i % 7}`,
      by: i,
    }));
    for (const change of counters) await store.append(id, [change]);
    await store.close();
    expect((await readFile(paths(id).journal)).length).toBeLessThan(1024 + 400);
    expect(await fileStore({ dir }).load(id)).toEqual(
      replay(null, [...log.slice(0, 1), ...counters]),
    );
  });
});

describe('locks', () => {
  it('refuses writes of another store while a live lock is held, and names the owner', async () => {
    const id = 'locked:1';
    const owner = fileStore({ dir });
    const other = fileStore({ dir });
    await owner.append(id, changeLog(id).slice(0, 2));
    const lock = await owner.lock(id);
    for (const attempt of [
      () => other.append(id, [started]),
      () => other.compact(id),
      () => other.delete(id),
      () => other.repair(id),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointLockedError);
      expect((error as Error).message).toContain(`pid ${process.pid} on ${hostname()}`);
    }
    expect(await readLockOwner(dir, id)).toEqual(lock.owner);
    await owner.append(id, [started]); // the holder writes
    await lock.release();
    expect(await readLockOwner(dir, id)).toBeNull();
    await other.append(id, [{ ...started, at: '2026-03-02T00:00:00.000Z' }]);
    await owner.close();
    await other.close();
  });

  it('reads the journal afresh when it takes the lock, after another store wrote in between', async () => {
    const id = 'handover:1';
    const first = fileStore({ dir });
    const second = fileStore({ dir });
    const log = changeLog(id);
    await first.append(id, log.slice(0, 1)); // first caches its journal writer, unlocked
    for (const [store, change] of [
      [second, log[1]!],
      [first, log[2]!],
      [second, log[3]!],
    ] as const) {
      const lock = await store.lock(id);
      await store.append(id, [change]);
      await lock.release();
    }
    const expected = replay(null, log.slice(0, 4));
    expect(await fileStore({ dir }).load(id)).toEqual(expected);
    expect(await first.load(id)).toEqual(expected);
    await first.close();
    await second.close();
  });

  it('stops the holder before its next write once its lock was taken over', async () => {
    const id = 'lost:1';
    const store = fileStore({ dir });
    await store.append(id, changeLog(id).slice(0, 2));
    await store.lock(id);
    await store.append(id, [started]);
    const before = await readFile(paths(id).journal);
    // Someone deletes the lock and another store takes it.
    await rm(paths(id).lock, { recursive: true });
    const thief = fileStore({ dir });
    const stolen = await thief.lock(id);
    const error = await store.append(id, [started]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockLostError);
    expect((error as Error).message).toContain('taken over');
    await expect(store.compact(id)).rejects.toBeInstanceOf(LockLostError);
    expect((await readFile(paths(id).journal)).equals(before)).toBe(true);
    await stolen.release();
    await store.close();
    await thief.close();
  });

  it('stops the holder when another process tampers with its lock, without throwing out of nowhere', async () => {
    const id = 'compromised:1';
    const store = fileStore({ dir, staleMs: 2000 });
    await store.append(id, changeLog(id).slice(0, 2));
    await store.lock(id);
    // Another process dating the lock directory back: the next refresh sees an mtime not its own.
    // Dated back again before each look: a refresh that had read the lock just before puts a
    // fresh date over ours, and only a later one can tell. Until the holder stops (the unit
    // timeout guards a hang): the 500 ms refresh timer may fire late on a loaded machine.
    let error: unknown = null;
    while (!error) {
      const old = new Date(Date.now() - 60_000);
      await utimes(paths(id).lock, old, old);
      await new Promise((resolve) => setTimeout(resolve, 100));
      error = await store.append(id, [{ type: 'counter.added', name: 'n', by: 1 }]).then(
        () => null,
        (e: unknown) => e,
      );
    }
    expect(error).toBeInstanceOf(LockLostError);
    const before = await readFile(paths(id).journal);
    await expect(store.append(id, [started])).rejects.toBeInstanceOf(LockLostError);
    expect((await readFile(paths(id).journal)).equals(before)).toBe(true);
    await store.close();
  });

  it('takes over a lock whose owner on another host stopped refreshing it', async () => {
    const id = 'stale:1';
    const lockDir = paths(id).lock;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(lockDir, { recursive: true });
    await writeFile(
      join(lockDir, 'owner.json'),
      JSON.stringify({ pid: 4242, host: 'elsewhere', since: at, token: 't' }),
    );
    const store = fileStore({ dir, staleMs: 2000 });
    const refused = await store.lock(id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CheckpointLockedError);
    expect((refused as CheckpointLockedError).owner).toEqual({
      pid: 4242,
      host: 'elsewhere',
      since: at,
    });
    expect(await readLockOwner(dir, id, { staleMs: 2000 })).toMatchObject({ host: 'elsewhere' });
    const old = new Date(Date.now() - 5000);
    await utimes(lockDir, old, old);
    expect(await readLockOwner(dir, id, { staleMs: 2000 })).toBeNull();
    const lock = await store.lock(id);
    expect(lock.owner.pid).toBe(process.pid);
    await lock.release();
    await store.close();
  });
});

describe('delete', () => {
  it('removes both files, and a journal left alone by a crash fails loudly instead of passing for an old state', async () => {
    const id = 'gone:1';
    const sample = await writeSample(dir, id);
    const store = fileStore({ dir });
    expect(await store.delete(id)).toBe(true);
    expect(await store.delete(id)).toBe(false);
    expect(await store.load(id)).toBeNull();
    expect(await readdir(dir)).toEqual([]);
    // The crash came between the two unlinks.
    await writeFile(sample.journalPath, sample.journal);
    const error = await store.load(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointFileError);
    expect((error as CheckpointFileError).kind).toBe('missing');
    expect(await store.delete(id)).toBe(true);
    await store.close();
  });
});

describe('repair', () => {
  it('moves a damaged journal aside and keeps every batch that verifies', async () => {
    const id = 'repair:1';
    const sample = await writeSample(dir, id);
    const lines = sample.journal.toString('utf8').split('\n');
    // Damage the first batch after the snapshot (lines 1..5): a change no longer matches its crc.
    lines[1] = lines[1]!.replace('2026-', '2027-');
    const damaged = Buffer.from(lines.join('\n'));
    await writeFile(sample.journalPath, damaged);
    const store = fileStore({ dir });
    const error = await store.load(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointFileError);
    expect((error as CheckpointFileError).line).toBe(6); // the commit line of the batch
    expect((error as Error).message).toContain('batch 2 (lines 2-5)');

    const report = await store.repair(id);
    // Both files are replaced: both are kept aside, byte for byte.
    expect(report.movedAside).toHaveLength(2);
    expect(report.movedAside[0]).toMatch(/\.checkpoint\.json\.corrupt-/);
    expect((await readFile(report.movedAside[0]!)).equals(sample.snapshot)).toBe(true);
    expect(report.movedAside[1]).toMatch(/\.checkpoint\.jsonl\.corrupt-/);
    expect((await readFile(report.movedAside[1]!)).equals(damaged)).toBe(true);
    expect(report.droppedBatches).toBe(1);
    expect(report.droppedRanges).toEqual([[2, 2]]);
    expect(report.recoveredFrom).toBe('snapshot');
    expect(report.snapshotLost).toBe(false);
    expect(report.damage[0]).toMatchObject({ file: sample.journalPath, line: 6, kind: 'checksum' });
    const kept = [...sample.log.slice(0, 8), ...sample.log.slice(12)];
    expect(report.keptChanges).toBe(kept.length - 8);
    expect(await store.load(id)).toEqual(replay(null, kept));
    await store.append(id, [started]);
    expect(await fileStore({ dir }).load(id)).toEqual(replay(null, [...kept, started]));
    expect((await store.list()).map((l) => l.id)).toEqual([id]);
    await store.close();
  });

  it('rebuilds from the journal alone when the snapshot is damaged and the journal holds it all', async () => {
    const id = 'repair:2';
    const store = fileStore({ dir });
    const log = changeLog(id);
    await store.append(id, log.slice(0, 5));
    // A journal that still holds everything (its compaction was cut short), then a damaged snapshot.
    const journal = await readFile(paths(id).journal);
    await store.compact(id);
    await writeFile(paths(id).journal, journal);
    await store.append(id, log.slice(5));
    const snapshot = await readFile(paths(id).snapshot);
    snapshot[snapshot.length - 10]! ^= 1;
    await writeFile(paths(id).snapshot, snapshot);
    const report = await store.repair(id);
    // Batch 1 onwards is in the journal: nothing is missing.
    expect(report).toMatchObject({
      recoveredFrom: 'journal',
      snapshotLost: false,
      droppedBatches: 0,
    });
    expect(report.movedAside.some((f) => f.includes('.checkpoint.json.corrupt-'))).toBe(true);
    expect(await store.load(id)).toEqual(replay(null, log));
    await store.close();
  });

  it('cuts off a torn tail of a readable checkpoint, keeping its bytes aside', async () => {
    const id = 'repair:3';
    const sample = await writeSample(dir, id);
    await appendFile(sample.journalPath, '{"type":"coun');
    const report = await fileStore({ dir }).repair(id);
    expect(report).toMatchObject({ damage: [], tornTail: { bytes: 13 }, lost: null });
    expect(report.movedAside).toHaveLength(1);
    expect(report.movedAside[0]).toContain(`${sample.journalPath}.torn-`);
    expect(await readFile(report.movedAside[0]!, 'utf8')).toBe('{"type":"coun');
    expect((await readFile(sample.journalPath)).equals(sample.journal)).toBe(true);
  });

  it('refuses files of an unknown format version and leaves them alone', async () => {
    const id = 'repair:4';
    const sample = await writeSample(dir, id);
    const newer = Buffer.from(
      sample.snapshot.toString('utf8').replace('"snapshot":1', '"snapshot":9'),
    );
    await writeFile(sample.snapshotPath, newer);
    const error = await fileStore({ dir })
      .repair(id)
      .catch((e: unknown) => e);
    expect((error as CheckpointFileError).kind).toBe('version');
    expect((await readFile(sample.snapshotPath)).equals(newer)).toBe(true);
    expect((await readdir(dir)).filter((f) => f.includes('corrupt'))).toEqual([]);
  });
});

describe('readers', () => {
  it('reads nothing as null, and refuses files that hold another checkpoint', async () => {
    expect(await readCheckpointFiles(dir, 'none')).toBeNull();
    const sample = await writeSample(dir, 'real');
    await writeFile(paths('renamed').snapshot, sample.snapshot);
    await writeFile(paths('renamed').journal, sample.journal);
    const error = await readCheckpointFiles(dir, 'renamed').catch((e: unknown) => e);
    expect((error as CheckpointFileError).kind).toBe('mismatch');
    const warnings: FileStoreWarning[] = [];
    const listed = await fileStore({ dir, onWarning: (w) => warnings.push(w) }).list();
    expect(listed.map((l) => l.id)).toEqual(['real']);
    expect(warnings[0]?.code).toBe('unreadable-checkpoint');
  });

  it('parses bytes, strings and journal-only checkpoints without I/O', async () => {
    const sample = await writeSample(dir, 'pure');
    const expected = replay(null, sample.log);
    const fromBytes = parseCheckpointFiles({
      snapshot: new Uint8Array(sample.snapshot),
      journal: sample.journal,
      file: 'a',
    });
    expect(fromBytes).toEqual({
      checkpoint: expected,
      tornTail: null,
      journalChanges: sample.log.length - 8,
      lost: null,
    });
    const fromText = parseCheckpointFiles({
      snapshot: sample.snapshot.toString(),
      journal: sample.journal.toString(),
      file: 'a',
    });
    expect(fromText.checkpoint).toEqual(expected);
    const store = fileStore({ dir });
    await store.append('fresh', changeLog('fresh'));
    const journal = await readFile(paths('fresh').journal);
    expect(parseCheckpointFiles({ snapshot: null, journal, file: 'b' }).checkpoint).toEqual(
      replay(null, changeLog('fresh')),
    );
    expect(() =>
      parseCheckpointFiles({ snapshot: null, journal: null, file: 'c.checkpoint.json' }),
    ).toThrow(CheckpointFileError);
    // Errors name the damaged file, whichever of the two names the caller gave.
    const failure = (snapshot: Buffer, journal: Buffer, file: string) => {
      try {
        parseCheckpointFiles({ snapshot, journal, file });
      } catch (error) {
        return error as CheckpointFileError;
      }
      return null;
    };
    const headerOnly = sample.journal.subarray(0, sample.journal.indexOf(10) + 1);
    const badLine = Buffer.concat([headerOnly, Buffer.from('{"commit":\n')]);
    for (const file of ['x.checkpoint.json', 'x.checkpoint.jsonl']) {
      expect(failure(sample.snapshot, badLine, file)?.file).toBe('x.checkpoint.jsonl');
      expect(failure(sample.snapshot.subarray(1), sample.journal, file)?.file).toBe(
        'x.checkpoint.json',
      );
    }
    await unlink(paths('fresh').journal);
  });
});
