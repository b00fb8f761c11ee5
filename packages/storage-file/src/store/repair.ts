import { constants } from 'node:fs';
import { copyFile, link, open, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { applyChange, type Checkpoint, emptyCheckpoint } from '@checkpointkit/core';
import { CheckpointFileError } from '../format/errors.js';
import { encodeJournalHeader, type JournalDamage, parseJournal } from '../format/journal.js';
import { CORRUPT_INFIX, TORN_INFIX } from '../format/names.js';
import { encodeAck } from '../format/parse.js';
import { type DecodedSnapshot, decodeSnapshot, encodeSnapshot } from '../format/snapshot.js';
import { type CheckpointPaths, parseRaw, readRaw } from './files.js';
import { fsyncDir, isMissing, replaceFile } from './io.js';

/** What `repair` found and did. */
export interface RepairReport {
  id: string;
  /** What made the checkpoint unreadable: empty when it was readable (a torn tail at most). */
  damage: { file: string; line?: number; kind: CheckpointFileError['kind']; message: string }[];
  /**
   * What repair replaced or cut, kept byte for byte beside the checkpoint: damaged files under
   * `<name>.corrupt-<time>`, a torn journal tail under `<journal>.torn-<time>`.
   */
  movedAside: string[];
  /** The torn journal tail that was cut off, if any. */
  tornTail: { line: number; bytes: number } | null;
  /** Journal changes kept on top of the snapshot (or, when the snapshot was lost, on their own). */
  keptChanges: number;
  /** Journal batches left out because their bytes do not verify (they remain in the moved-aside file). */
  droppedBatches: number;
  /**
   * True when the snapshot could not be read: the checkpoint was rebuilt from the journal's
   * changes alone, so units and counters from before the last compaction are missing (their
   * work is redone: at-least-once, never skipped).
   */
  snapshotLost: boolean;
  /**
   * Acknowledged batches the journal no longer held (it was cut or replaced): `acked` was the
   * last acknowledged, the files ended at `found`. Their changes cannot be recovered here; the
   * journal was kept aside, and the checkpoint goes on from batch `found`.
   */
  lost: { acked: number; found: number } | null;
  /** Whether a checkpoint exists after the repair. */
  exists: boolean;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Keeps a damaged file's bytes under `<name>.corrupt-<time>`: a hard link, or a copy where links fail. */
async function moveAside(path: string): Promise<string> {
  const target = `${path}${CORRUPT_INFIX}${stamp()}`;
  try {
    await link(path, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error;
    await copyFile(path, target, constants.COPYFILE_EXCL);
  }
  await fsyncDir(dirname(path));
  return target;
}

/** The ack mark after a repair: the batch the repaired files end at. */
async function writeAck(at: CheckpointPaths, seq: number): Promise<void> {
  await replaceFile(at.ack, encodeAck(seq));
}

/** Keeps a copy of a file's bytes under `<name>.corrupt-<time>`, for a file about to change in place. */
async function copyAside(path: string): Promise<string> {
  const target = `${path}${CORRUPT_INFIX}${stamp()}`;
  await copyFile(path, target, constants.COPYFILE_EXCL);
  await fsyncDir(dirname(path));
  return target;
}

const describe = (error: CheckpointFileError) => ({
  file: error.file,
  ...(error.line !== undefined && { line: error.line }),
  kind: error.kind,
  message: error.message,
});

/** @internal the repair itself; the caller holds the checkpoint's lock. */
export async function repairCheckpoint(id: string, at: CheckpointPaths): Promise<RepairReport> {
  const raw = await readRaw(at);
  const report: RepairReport = {
    id,
    damage: [],
    movedAside: [],
    tornTail: null,
    keptChanges: 0,
    droppedBatches: 0,
    snapshotLost: false,
    lost: null,
    exists: raw.journal !== null || raw.snapshot !== null,
  };
  if (!report.exists) return report;

  let readable = true;
  try {
    const parsed = parseRaw(at, raw);
    if (parsed && parsed.checkpoint.id !== id) {
      throw new CheckpointFileError(
        at.snapshot,
        'mismatch',
        `the files hold checkpoint ${JSON.stringify(parsed.checkpoint.id)}, not ${JSON.stringify(id)}`,
      );
    }
    if (parsed?.lost && raw.journal) {
      // What is left is all there is: keep a copy of the journal as it was found (a copy, not a
      // link: a torn tail is cut from the file in place below), and accept its end as the last
      // acknowledged batch from here on.
      report.lost = parsed.lost;
      report.movedAside.push(await copyAside(at.journal));
    }
    if (parsed?.journal?.tornTail && raw.journal) {
      // Readable, with a torn tail: kept aside, then cut off (it was never acknowledged).
      report.tornTail = parsed.journal.tornTail;
      const aside = `${at.journal}${TORN_INFIX}${stamp()}`;
      await writeFile(aside, raw.journal.bytes.subarray(parsed.journal.validLength), {
        flag: 'wx',
      });
      report.movedAside.push(aside);
      const handle = await open(at.journal, 'r+');
      try {
        await handle.truncate(parsed.journal.validLength);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    report.keptChanges = parsed?.journalChanges ?? 0;
    report.exists = parsed !== null;
    if (parsed) await writeAck(at, parsed.seq);
  } catch (error) {
    if (!(error instanceof CheckpointFileError)) throw error;
    if (error.kind === 'version') throw error;
    readable = false;
  }
  if (readable) return report;

  // The snapshot, if it can be read on its own and is this checkpoint's.
  let snapshot: DecodedSnapshot | null = null;
  if (raw.snapshot) {
    try {
      snapshot = decodeSnapshot(raw.snapshot, at.snapshot);
      if (snapshot.checkpoint.id !== id) {
        throw new CheckpointFileError(
          at.snapshot,
          'mismatch',
          `holds checkpoint ${JSON.stringify(snapshot.checkpoint.id)}, not ${JSON.stringify(id)}`,
        );
      }
    } catch (error) {
      if (!(error instanceof CheckpointFileError) || error.kind === 'version') throw error;
      report.damage.push(describe(error));
      report.snapshotLost = true;
      snapshot = null;
    }
  }

  // Every journal batch whose bytes verify, in order.
  const damages: JournalDamage[] = [];
  let journalDamaged = false;
  let state: Checkpoint | null = snapshot ? snapshot.checkpoint : null;
  let seq = snapshot?.seq ?? 0;
  if (raw.journal) {
    const journal = parseJournal(raw.journal.bytes, at.journal, (damage) => damages.push(damage));
    const version = damages.find((d) => d.error.kind === 'version');
    if (version) throw version.error;
    report.droppedBatches = damages.length;
    for (const damage of damages) report.damage.push(describe(damage.error));
    journalDamaged = damages.length > 0;
    const headerId = journal.header.id;
    if (headerId !== '' && headerId !== id) {
      report.damage.push(
        describe(
          new CheckpointFileError(
            at.journal,
            'mismatch',
            `the journal belongs to checkpoint ${JSON.stringify(headerId)}`,
            1,
          ),
        ),
      );
      journalDamaged = true;
    } else {
      if (snapshot && journal.header.base > snapshot.seq) {
        report.damage.push(
          describe(
            new CheckpointFileError(
              at.journal,
              'sequence',
              `the journal continues snapshot batch ${journal.header.base}, the snapshot covers batch ${snapshot.seq}`,
              1,
            ),
          ),
        );
        journalDamaged = true;
      }
      for (const batch of journal.batches) {
        if (snapshot && batch.seq <= snapshot.seq) continue;
        for (const change of batch.changes) {
          if (change.type === 'created') {
            if (change.id !== id) continue;
            state = emptyCheckpoint(id, change.at, change.configDigest);
          } else {
            state ??= emptyCheckpoint(
              id,
              'at' in change ? change.at : new Date().toISOString(),
              null,
            );
            applyChange(state, change);
          }
          report.keptChanges += 1;
        }
        seq = Math.max(seq, batch.seq);
      }
      seq = Math.max(seq, journal.header.base);
    }
  }

  if (report.snapshotLost && raw.snapshot) report.movedAside.push(await moveAside(at.snapshot));
  if (journalDamaged && raw.journal) report.movedAside.push(await moveAside(at.journal));

  if (state) {
    // The moved-aside names keep the old bytes: replacing the names below does not touch them.
    await replaceFile(at.snapshot, encodeSnapshot(state, seq));
    await replaceFile(at.journal, encodeJournalHeader(id, seq));
    await writeAck(at, seq);
    report.exists = true;
  } else {
    for (const file of [at.ack, at.snapshot, at.journal]) {
      await unlink(file).catch((error: unknown) => {
        if (!isMissing(error)) throw error;
      });
    }
    await fsyncDir(dirname(at.snapshot));
    report.exists = false;
  }
  return report;
}
