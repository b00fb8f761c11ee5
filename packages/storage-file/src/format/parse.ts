import { applyChange, type Change, type Checkpoint, emptyCheckpoint } from '@checkpointkit/core';
import { toBuffer } from './bytes.js';
import { CheckpointFileError } from './errors.js';
import { type JournalBatch, type ParsedJournal, parseJournal } from './journal.js';
import { JOURNAL_SUFFIX, SNAPSHOT_SUFFIX } from './names.js';
import { type DecodedSnapshot, decodeSnapshot } from './snapshot.js';

/** What {@link parseCheckpointFiles} reads from a snapshot and its journal. */
export interface ParsedCheckpoint {
  checkpoint: Checkpoint;
  /**
   * Bytes after the last complete journal batch, dropped: what a crash left mid-write, or, in
   * files read while a writer appends, the first part of the batch it is writing (the bytes
   * alone cannot tell which; `readCheckpointFiles` tells by the lock).
   */
  tornTail: { line: number; bytes: number } | null;
  /** Changes replayed from the journal on top of the snapshot. */
  journalChanges: number;
  /**
   * Acknowledged batches the files no longer hold: the ack mark says batch `acked` was
   * acknowledged, the files end at batch `found`. Damage (a journal cut or replaced), never a
   * crash: the state shown lacks what those batches changed. Null when nothing is missing, or
   * when there is no ack mark to tell.
   */
  lost: { acked: number; found: number } | null;
}

export interface CheckpointFilesInput {
  /** The snapshot's bytes (`<id>.checkpoint.json`), or null when there is none. */
  snapshot: Uint8Array | string | null;
  /** The journal's bytes (`<id>.checkpoint.jsonl`), or null when there is none. */
  journal: Uint8Array | string | null;
  /**
   * The snapshot's (or the journal's) path or name, for error messages; the other file is named
   * after it (suffix `.checkpoint.jsonl` / `.checkpoint.json`) unless `journalFile` is given.
   */
  file: string;
  journalFile?: string;
  /** The ack mark's bytes (`<id>.checkpoint.ack`), when there is one: tells a cut journal from a torn tail. */
  ack?: Uint8Array | string | null;
}

/** @internal everything the store needs besides the checkpoint. */
export interface ParsedFiles extends ParsedCheckpoint {
  /** Last batch in the state (0 when none). */
  seq: number;
  snapshotSeq: number | null;
  journal: ParsedJournal | null;
}

/** The journal's name for messages: the snapshot's name with the journal suffix. */
export function journalFileFor(file: string): string {
  if (file.endsWith(JOURNAL_SUFFIX)) return file;
  return file.endsWith(SNAPSHOT_SUFFIX)
    ? file.slice(0, -SNAPSHOT_SUFFIX.length) + JOURNAL_SUFFIX
    : `${file} (journal)`;
}

/** The snapshot's name for messages, when `file` names the journal. */
function snapshotFileFor(file: string): string {
  return file.endsWith(JOURNAL_SUFFIX)
    ? file.slice(0, -JOURNAL_SUFFIX.length) + SNAPSHOT_SUFFIX
    : file;
}

/**
 * Reads a checkpoint from the bytes of its snapshot and journal: pure, no I/O, so an editor can
 * read the files its own way. Replays the journal batches the snapshot does not cover, drops a
 * torn tail (reported in `tornTail`), and throws {@link CheckpointFileError} naming the file,
 * the line and the cause on any other damage, or when neither holds a checkpoint.
 */
export function parseCheckpointFiles(input: CheckpointFilesInput): ParsedCheckpoint {
  const parsed = parseFiles(input);
  if (!parsed) {
    throw new CheckpointFileError(
      input.file,
      'missing',
      'no snapshot and no complete journal batch: no checkpoint here',
    );
  }
  return {
    checkpoint: parsed.checkpoint,
    tornTail: parsed.tornTail,
    journalChanges: parsed.journalChanges,
    lost: parsed.lost,
  };
}

/** The batch number in an ack mark, or null when it holds none (a mark cut short reads as none). */
export function decodeAck(bytes: Uint8Array | string | null | undefined): number | null {
  if (bytes === null || bytes === undefined) return null;
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  const match = /^ack (\d+)\n$/.exec(text);
  return match ? Number(match[1]) : null;
}

/** The ack mark of batch `seq`. */
export function encodeAck(seq: number): Buffer {
  return Buffer.from(`ack ${seq}\n`, 'utf8');
}

/** @internal as {@link parseCheckpointFiles}, with the store's bookkeeping; null when empty. */
export function parseFiles(input: CheckpointFilesInput): ParsedFiles | null {
  const { snapshotFile, journalFile } = fileNames(input);
  const snapshot = input.snapshot === null ? null : decodeSnapshot(input.snapshot, snapshotFile);
  const journal =
    input.journal === null ? null : parseJournal(toBuffer(input.journal), journalFile);
  checkPair(snapshot && { id: snapshot.checkpoint.id, seq: snapshot.seq }, journal, journalFile);
  return replayJournal(snapshot, journal, journalFile, input.ack);
}

/** @internal how messages name the snapshot and the journal of `input`. */
export function fileNames(input: CheckpointFilesInput): {
  snapshotFile: string;
  journalFile: string;
} {
  return {
    snapshotFile: snapshotFileFor(input.file),
    journalFile: input.journalFile ?? journalFileFor(input.file),
  };
}

/** @internal throws when the journal belongs to another checkpoint, or continues a later snapshot. */
export function checkPair(
  snapshot: { id: string; seq: number } | null,
  journal: ParsedJournal | null,
  journalFile: string,
): void {
  if (journal && snapshot && journal.header.id !== snapshot.id) {
    throw new CheckpointFileError(
      journalFile,
      'mismatch',
      `the journal belongs to checkpoint ${JSON.stringify(journal.header.id)}, the snapshot to ${JSON.stringify(snapshot.id)}`,
      1,
    );
  }
  if (journal && journal.header.base > (snapshot?.seq ?? 0)) {
    throw new CheckpointFileError(
      journalFile,
      snapshot ? 'sequence' : 'missing',
      snapshot
        ? `the journal continues snapshot batch ${journal.header.base}, but the snapshot only covers batch ${snapshot.seq}`
        : `the journal continues snapshot batch ${journal.header.base}, but there is no snapshot`,
      1,
    );
  }
}

/**
 * @internal replays the journal batches that `snapshot` does not cover onto its checkpoint (in
 * place); null when there is neither.
 */
export function replayJournal(
  snapshot: DecodedSnapshot | null,
  journal: ParsedJournal | null,
  journalFile: string,
  ack: CheckpointFilesInput['ack'],
): ParsedFiles | null {
  let state: Checkpoint | null = snapshot ? snapshot.checkpoint : null;
  let seq = snapshot?.seq ?? 0;
  let journalChanges = 0;
  if (journal) {
    const id = journal.header.id;
    for (const batch of journal.batches) {
      if (batch.seq <= seq) continue; // folded into the snapshot already (a compaction was cut short)
      state = applyBatch(state, batch, id, journalFile);
      journalChanges += batch.changes.length;
      seq = batch.seq;
    }
  }
  if (!state) return null;
  const acked = decodeAck(ack);
  return {
    checkpoint: state,
    tornTail: journal?.tornTail ?? null,
    lost: acked !== null && acked > seq ? { acked, found: seq } : null,
    journalChanges,
    seq,
    snapshotSeq: snapshot?.seq ?? null,
    journal,
  };
}

function applyBatch(
  state: Checkpoint | null,
  batch: JournalBatch,
  id: string,
  file: string,
): Checkpoint {
  let current = state;
  batch.changes.forEach((change: Change, index) => {
    const line = batch.line + index;
    if (change.type === 'created') {
      if (change.id !== id) {
        throw new CheckpointFileError(
          file,
          'mismatch',
          `a "created" change for checkpoint ${JSON.stringify(change.id)} in the journal of ${JSON.stringify(id)}`,
          line,
        );
      }
      current = emptyCheckpoint(change.id, change.at, change.configDigest);
      return;
    }
    if (!current) {
      throw new CheckpointFileError(
        file,
        'sequence',
        `the journal starts with a "${change.type}" change, not "created", and there is no snapshot`,
        line,
      );
    }
    applyChange(current, change);
  });
  return current!;
}
