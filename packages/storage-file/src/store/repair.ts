import { constants } from 'node:fs';
import { copyFile, link, open, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Change } from '@checkpointkit/core';
import { CheckpointFileError } from '../format/errors.js';
import { encodeJournalHeader, type ParsedJournal, parseJournal } from '../format/journal.js';
import { CORRUPT_INFIX, TORN_INFIX } from '../format/names.js';
import { decodeAck, encodeAck } from '../format/parse.js';
import { decodeSnapshot, encodeSnapshot } from '../format/snapshot.js';
import { type CheckpointPaths, mismatchError, parseRaw, readRaw } from './files.js';
import { fsyncDir, isMissing, readOrNull, replaceFile } from './io.js';
import { leftoverError } from './leftovers.js';
import { type RecoveredFrom, recover, type SnapshotCandidate } from './recover.js';

/** One damage `repair` found: the file, the line (for a journal) and the cause. */
export interface RepairDamage {
  file: string;
  line?: number;
  kind: CheckpointFileError['kind'];
  message: string;
}

/** What `repair` found, kept, recovered and dropped. */
export interface RepairReport {
  id: string;
  /**
   * What made the checkpoint unreadable: empty when it was readable (a torn tail or cut journal at
   * most). Also a previous generation that does not read whole, even beside a readable checkpoint
   * (then `recoveredFrom` is null): the fallback a later repair would need is gone.
   */
  damage: RepairDamage[];
  /**
   * Every file repair replaced, cut or removed, kept byte for byte beside the checkpoint: under
   * `<name>.corrupt-<time>` (the whole file as found), a torn journal tail under
   * `<journal>.torn-<time>`. Nothing repair changes is lost. A previous generation that did not
   * read whole is kept aside too (it stays in place until the next compaction replaces it).
   */
  movedAside: string[];
  /** The torn journal tail that was cut off, if any (a write a crash cut short: never acknowledged). */
  tornTail: { line: number; bytes: number } | null;
  /**
   * Where the rebuilt state starts: the snapshot, the previous snapshot a compaction kept (the
   * snapshot was damaged), or the journals alone. Null when the checkpoint was readable.
   */
  recoveredFrom: RecoveredFrom | null;
  /** The last batch the repaired checkpoint holds. */
  seq: number;
  /** Units in the repaired checkpoint. */
  units: number;
  /** Journal changes replayed on top of where it starts (for a readable checkpoint: the journal's). */
  keptChanges: number;
  /**
   * Batches the repaired checkpoint lacks, up to the last acknowledged (or last found) one: they
   * were in no journal whole (damaged, or cut off). Their bytes, if any, are in the files moved aside.
   */
  droppedBatches: number;
  /** The batch numbers of {@link droppedBatches}, as ranges `[first, last]`. */
  droppedRanges: [number, number][];
  /** Bytes of damaged journal lines that were not replayed (a damaged header, junk, a batch that fails its crc32). */
  droppedBytes: number;
  /**
   * True when no snapshot could be used and batch 1 was gone too: the checkpoint was rebuilt
   * from the journal's later changes alone, so units and counters from before are missing
   * (their work is redone: at-least-once, never skipped).
   */
  snapshotLost: boolean;
  /**
   * Acknowledged batches the repaired checkpoint lacks: `acked` was the last acknowledged (the
   * ack mark), the checkpoint now ends at `found`. Null when nothing acknowledged is missing, or
   * when there is no ack mark to tell.
   */
  lost: { acked: number; found: number } | null;
  /** Whether a checkpoint exists after the repair. */
  exists: boolean;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/**
 * Keeps a file's bytes under `<name>.corrupt-<time>` before repair replaces or removes it: a
 * hard link (the name is then replaced by a rename, which leaves the linked bytes alone), or a
 * copy where links fail. `copy`: always copy, for a file about to change in place.
 */
async function keepAside(path: string, copy = false): Promise<string> {
  const target = `${path}${CORRUPT_INFIX}${stamp()}`;
  try {
    if (copy) throw Object.assign(new Error('copy'), { code: 'COPY' });
    await link(path, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error;
    await copyFile(path, target, constants.COPYFILE_EXCL);
  }
  await fsyncDir(dirname(path));
  return target;
}

const describe = (error: CheckpointFileError): RepairDamage => ({
  file: error.file,
  ...(error.line !== undefined && { line: error.line }),
  kind: error.kind,
  message: error.message,
});

function emptyReport(id: string, exists: boolean): RepairReport {
  return {
    id,
    damage: [],
    movedAside: [],
    tornTail: null,
    recoveredFrom: null,
    seq: 0,
    units: 0,
    keptChanges: 0,
    droppedBatches: 0,
    droppedRanges: [],
    droppedBytes: 0,
    snapshotLost: false,
    lost: null,
    exists,
  };
}

/** @internal the repair itself; the caller holds the checkpoint's lock. */
export async function repairCheckpoint(id: string, at: CheckpointPaths): Promise<RepairReport> {
  const raw = await readRaw(at, { whole: true });
  const report = emptyReport(id, raw.journal !== null || raw.snapshot !== null);
  if (!report.exists) {
    // Removed outside the store: rebuilt from the previous generation, or the mark cleared.
    const leftover = await leftoverError(at, raw.ack);
    if (!leftover) return report;
    report.damage.push(describe(leftover));
    return rebuild(id, at, report, raw);
  }
  try {
    const parsed = parseRaw(at, raw);
    if (parsed && parsed.checkpoint.id !== id) {
      throw mismatchError(at, raw, parsed.checkpoint.id, id);
    }
    if (!parsed) return report;
    report.seq = parsed.seq;
    report.units = Object.keys(parsed.checkpoint.units).length;
    report.keptChanges = parsed.journalChanges;
    if (parsed.lost && raw.journal) {
      // What is left is all there is: keep a copy of the journal as it was found (a copy, not a
      // link: a torn tail is cut from the file in place below), and accept its end as the last
      // acknowledged batch from here on.
      report.lost = parsed.lost;
      report.droppedBatches = parsed.lost.acked - parsed.lost.found;
      report.droppedRanges = [[parsed.lost.found + 1, parsed.lost.acked]];
      report.movedAside.push(await keepAside(at.journal, true));
    }
    if (parsed.journal?.tornTail && raw.journal) {
      report.tornTail = parsed.journal.tornTail;
      report.movedAside.push(await cutTornTail(at.journal, raw.journal.bytes, parsed.journal));
    }
    await replaceFile(at.ack, encodeAck(parsed.seq));
    // Readable now, but the fallback a later damage would need may not be: say so, keep its bytes.
    for (const file of await damagedPreviousGeneration(id, at, report)) {
      report.movedAside.push(await keepAside(file));
    }
    return report;
  } catch (error) {
    if (!(error instanceof CheckpointFileError) || error.kind === 'version') throw error;
    report.damage.push(describe(error));
  }
  return rebuild(id, at, report, raw);
}

/** Keeps a readable journal's torn tail aside, then cuts it off (it was never acknowledged). */
async function cutTornTail(file: string, bytes: Buffer, journal: ParsedJournal): Promise<string> {
  const aside = `${file}${TORN_INFIX}${stamp()}`;
  await writeFile(aside, bytes.subarray(journal.validLength), { flag: 'wx' });
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(journal.validLength);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return aside;
}

/** The damage already reported for a file (the first read's error) is not reported twice. */
function addDamage(report: RepairReport, error: CheckpointFileError): void {
  const known = report.damage.some(
    (d) => d.file === error.file && d.line === error.line && d.message === error.message,
  );
  if (!known) report.damage.push(describe(error));
}

/** A snapshot of this checkpoint, or a {@link CheckpointFileError} (kind `mismatch`: another's). */
function decodeOwnSnapshot(id: string, file: string, bytes: Buffer) {
  const decoded = decodeSnapshot(bytes, file);
  if (decoded.checkpoint.id !== id) {
    throw new CheckpointFileError(
      file,
      'mismatch',
      `holds checkpoint ${JSON.stringify(decoded.checkpoint.id)}, not ${JSON.stringify(id)}`,
    );
  }
  return decoded;
}

/**
 * The files of a readable checkpoint's previous generation that do not read whole, their damage
 * added to the report. They stay in place (what still verifies in them can serve a later repair;
 * the next compaction replaces them), so the caller keeps their bytes aside. A file of a newer
 * version is no damage: left alone.
 */
async function damagedPreviousGeneration(
  id: string,
  at: CheckpointPaths,
  report: RepairReport,
): Promise<string[]> {
  const damaged: string[] = [];
  const snapshot = await readOrNull(at.previousSnapshot);
  if (snapshot) {
    try {
      decodeOwnSnapshot(id, at.previousSnapshot, snapshot);
    } catch (error) {
      if (!(error instanceof CheckpointFileError)) throw error;
      if (error.kind !== 'version') {
        addDamage(report, error);
        damaged.push(at.previousSnapshot);
      }
    }
  }
  const journal = await readOrNull(at.previousJournal);
  if (journal) {
    const errors: CheckpointFileError[] = [];
    const parsed = parseJournal(journal, at.previousJournal, (d) => errors.push(d.error));
    if (parsed.header.id !== '' && parsed.header.id !== id) {
      const message = `the journal belongs to checkpoint ${JSON.stringify(parsed.header.id)}`;
      errors.push(new CheckpointFileError(at.previousJournal, 'mismatch', message, 1));
    }
    if (errors.length > 0 && !errors.some((e) => e.kind === 'version')) {
      for (const error of errors) addDamage(report, error);
      damaged.push(at.previousJournal);
    }
  }
  return damaged;
}

/**
 * Rebuilds an unreadable checkpoint from every piece that still verifies: the snapshot and the
 * previous snapshot (whichever reaches furthest), and the batches of the journal and the
 * previous journal. Keeps the replaced files aside first.
 */
async function rebuild(
  id: string,
  at: CheckpointPaths,
  report: RepairReport,
  raw: Awaited<ReturnType<typeof readRaw>>,
): Promise<RepairReport> {
  const previousSnapshot = await readOrNull(at.previousSnapshot);
  const previousJournal = await readOrNull(at.previousJournal);

  const snapshots: SnapshotCandidate[] = [];
  for (const [kind, file, bytes] of [
    ['snapshot', at.snapshot, raw.snapshot],
    ['previous snapshot', at.previousSnapshot, previousSnapshot],
  ] as const) {
    if (!bytes) continue;
    try {
      const decoded = decodeOwnSnapshot(id, file, bytes);
      snapshots.push({ kind, file, checkpoint: decoded.checkpoint, seq: decoded.seq });
    } catch (error) {
      if (!(error instanceof CheckpointFileError) || error.kind === 'version') throw error;
      addDamage(report, error);
    }
  }

  // Every batch that verifies, from either journal (the same history: batch n is the same).
  const batches = new Map<number, readonly Change[]>();
  for (const [file, bytes] of [
    [at.previousJournal, previousJournal],
    [at.journal, raw.journal?.bytes ?? null],
  ] as const) {
    if (!bytes) continue;
    const journal = readJournal(id, file, bytes, report, file === at.journal);
    for (const batch of journal) batches.set(batch.seq, batch.changes);
  }

  const acked = decodeAck(raw.ack);
  const recovery = recover(id, snapshots, batches, acked);
  report.recoveredFrom = recovery.from;
  report.seq = recovery.seq;
  report.keptChanges = recovery.changes;
  report.droppedRanges = recovery.missing;
  report.droppedBatches = recovery.missing.reduce((sum, [a, b]) => sum + b - a + 1, 0);
  report.snapshotLost = recovery.historyMissing;
  report.lost = acked !== null && acked > recovery.seq ? { acked, found: recovery.seq } : null;

  // Every file replaced or removed below keeps its bytes aside first.
  const existing = [at.snapshot, at.journal].filter((_, i) =>
    i === 0 ? raw.snapshot !== null : raw.journal !== null,
  );
  if (!recovery.state) existing.push(at.previousSnapshot, at.previousJournal);
  else {
    // A previous generation that did not read whole stays, but the next compaction replaces it:
    // its bytes are kept aside like those of every other file repair could not read.
    for (const previous of [at.previousSnapshot, at.previousJournal]) {
      if (report.damage.some((d) => d.file === previous)) existing.push(previous);
    }
  }
  for (const file of existing) {
    try {
      report.movedAside.push(await keepAside(file));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  if (recovery.state) {
    await replaceFile(at.snapshot, encodeSnapshot(recovery.state, recovery.seq));
    await replaceFile(at.journal, encodeJournalHeader(id, recovery.seq));
    await replaceFile(at.ack, encodeAck(recovery.seq));
    report.units = Object.keys(recovery.state.units).length;
    report.exists = true;
  } else {
    for (const file of [at.ack, at.previousSnapshot, at.previousJournal, at.snapshot, at.journal]) {
      await unlink(file).catch((error: unknown) => {
        if (!isMissing(error)) throw error;
      });
    }
    await fsyncDir(dirname(at.snapshot));
    report.exists = false;
  }
  return report;
}

/**
 * The batches of one journal that verify and belong to this checkpoint; its damage goes into
 * the report, with the bytes of the damaged lines (a torn tail is not counted: never acknowledged).
 */
function readJournal(
  id: string,
  file: string,
  bytes: Buffer,
  report: RepairReport,
  current: boolean,
): ParsedJournal['batches'] {
  const damages: CheckpointFileError[] = [];
  const journal = parseJournal(bytes, file, (damage) => damages.push(damage.error));
  const version = damages.find((d) => d.kind === 'version');
  if (version) throw version;
  for (const damage of damages) addDamage(report, damage);
  if (journal.header.id !== '' && journal.header.id !== id) {
    addDamage(
      report,
      new CheckpointFileError(
        file,
        'mismatch',
        `the journal belongs to checkpoint ${JSON.stringify(journal.header.id)}`,
        1,
      ),
    );
    report.droppedBytes += bytes.length - (journal.tornTail?.bytes ?? 0);
    return [];
  }
  const used =
    (journal.headerValid ? journal.headerLength : 0) +
    journal.batches.reduce((sum, batch) => sum + batch.bytes, 0);
  report.droppedBytes += bytes.length - (journal.tornTail?.bytes ?? 0) - used;
  if (journal.tornTail && current) report.tornTail = journal.tornTail;
  return journal.batches;
}
