import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LockOwner } from '@checkpointkit/core';
import { CheckpointFileError } from '../format/errors.js';
import {
  ACK_SUFFIX,
  JOURNAL_SUFFIX,
  LOCK_SUFFIX,
  PREVIOUS_SUFFIX,
  SNAPSHOT_SUFFIX,
} from '../format/names.js';
import { type CheckpointFilesInput, type ParsedFiles, parseFiles } from '../format/parse.js';
import { checkSnapshotLength, SNAPSHOT_HEAD_BYTES } from '../format/snapshot.js';
import { type SummarizedCheckpoint, summarizeCheckpointFiles } from '../format/summary.js';
import { type FileRead, type FirstLook, isMissing, readOrNull, readWithIdentity } from './io.js';
import { liveOwner } from './lock.js';

/** The paths of one checkpoint's files in a store directory. */
export interface CheckpointPaths {
  stem: string;
  snapshot: string;
  journal: string;
  lock: string;
  ack: string;
  /** The snapshot and journal a compaction replaced, kept until the next one (see compact.ts). */
  previousSnapshot: string;
  previousJournal: string;
}

export function pathsOf(dir: string, stem: string): CheckpointPaths {
  const snapshot = join(dir, stem + SNAPSHOT_SUFFIX);
  const journal = join(dir, stem + JOURNAL_SUFFIX);
  return {
    stem,
    snapshot,
    journal,
    lock: join(dir, stem + LOCK_SUFFIX),
    ack: join(dir, stem + ACK_SUFFIX),
    previousSnapshot: snapshot + PREVIOUS_SUFFIX,
    previousJournal: journal + PREVIOUS_SUFFIX,
  };
}

/** The raw files of a checkpoint, read journal first (see {@link readConsistent}). */
export interface RawFiles {
  journal: FileRead | null;
  snapshot: Buffer | null;
  ack: Buffer | null;
}

/**
 * Reads the journal, then the snapshot. A compaction renames the new snapshot into place before
 * it replaces the journal, so a journal read first is never newer than the snapshot read after
 * it: the pair always resolves to a state the writer acknowledged.
 */
export async function readRaw(
  paths: CheckpointPaths,
  options: { whole?: boolean } = {},
): Promise<RawFiles> {
  // The mark first: it never names a batch the journal read after it does not hold.
  const ack = await readOrNull(paths.ack);
  const journal = await readWithIdentity(paths.journal);
  // A snapshot whose first line or length shows damage is refused before it is read whole (a
  // junk file of gigabytes with a snapshot's name); `whole` reads it anyway, for repair.
  const look: FirstLook = {
    bytes: SNAPSHOT_HEAD_BYTES,
    check: (head, size) => checkSnapshotLength(head, size, paths.snapshot),
  };
  const snapshot = await readOrNull(paths.snapshot, options.whole ? undefined : look);
  return { journal, snapshot, ack };
}

/** What the pure readers take from a checkpoint's raw files; null when there are none. */
function inputOf(paths: CheckpointPaths, raw: RawFiles): CheckpointFilesInput | null {
  if (!raw.journal && !raw.snapshot) return null;
  return {
    snapshot: raw.snapshot,
    journal: raw.journal?.bytes ?? null,
    file: paths.snapshot,
    journalFile: paths.journal,
    ack: raw.ack,
  };
}

export function parseRaw(paths: CheckpointPaths, raw: RawFiles): ParsedFiles | null {
  const input = inputOf(paths, raw);
  return input && parseFiles(input);
}

/** As {@link parseRaw}, the summary only: the units are counted, not built. */
export function summarizeRaw(paths: CheckpointPaths, raw: RawFiles): SummarizedCheckpoint | null {
  const input = inputOf(paths, raw);
  return input && summarizeCheckpointFiles(input);
}

/**
 * The error for files that hold checkpoint `found`, not `id`: it names the snapshot, or the
 * journal when there is no snapshot (the journal alone then holds the checkpoint).
 */
export function mismatchError(
  paths: CheckpointPaths,
  raw: RawFiles,
  found: string,
  id: string,
): CheckpointFileError {
  return new CheckpointFileError(
    raw.snapshot ? paths.snapshot : paths.journal,
    'mismatch',
    `the files hold checkpoint ${JSON.stringify(found)}, not ${JSON.stringify(id)}`,
  );
}

/** A snapshot/journal pair that does not fit together may be a writer's delete racing with us. */
function mayBeRace(error: unknown): boolean {
  return (
    error instanceof CheckpointFileError &&
    (error.kind === 'sequence' || error.kind === 'missing') &&
    error.line === 1
  );
}

/**
 * Reads and parses a checkpoint's files as an unlocked reader: retries a pair that does not fit
 * together (a delete between the two reads), so a running writer is never seen half-way.
 */
export function readConsistent(
  paths: CheckpointPaths,
): Promise<{ raw: RawFiles; parsed: ParsedFiles | null }> {
  return readConsistentWith(paths, parseRaw);
}

/** {@link readConsistent} with another parser of the raw files ({@link summarizeRaw}). */
export async function readConsistentWith<T>(
  paths: CheckpointPaths,
  parse: (paths: CheckpointPaths, raw: RawFiles) => T | null,
): Promise<{ raw: RawFiles; parsed: T | null }> {
  for (let attempt = 0; ; attempt++) {
    const raw = await readRaw(paths);
    try {
      return { raw, parsed: parse(paths, raw) };
    } catch (error) {
      if (attempt >= 4 || !mayBeRace(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * (attempt + 1)));
    }
  }
}

/** What {@link readSettled} read, and who is still writing the journal's incomplete last batch. */
export interface SettledRead<T> {
  raw: RawFiles;
  parsed: T | null;
  /**
   * When the journal ends in an incomplete batch (a torn tail): the live process that holds the
   * checkpoint's lock, which is writing that batch or will cut it at its next save. Null when
   * there is no torn tail, or nobody holds a live lock: then the torn tail is a crash's leftovers.
   */
  writing: LockOwner | null;
}

/**
 * {@link readConsistentWith}, for a reader that does not hold the lock, telling the batch a
 * writer is in the middle of writing from a crash's leftovers. Both look the same in the bytes:
 * a batch is written with one write(2), but another process can read the journal while that
 * write is still copying it in (the file grows as it goes), and sees only its first part. That
 * part is not acknowledged yet, so the state read before it is the right one to show; it must
 * not be reported as a crash. A live process holding the lock tells them apart. When nobody
 * does, the writer may still have finished that batch and let go (a job's last save) between
 * our read and our look at the lock: a journal that changed since it was read is read again.
 */
export async function readSettled<T extends { tornTail: unknown }>(
  paths: CheckpointPaths,
  parse: (paths: CheckpointPaths, raw: RawFiles) => T | null,
  staleMs: number,
): Promise<SettledRead<T>> {
  for (let attempt = 0; ; attempt++) {
    const { raw, parsed } = await readConsistentWith(paths, parse);
    if (!parsed?.tornTail || !raw.journal) return { raw, parsed, writing: null };
    const writing = await liveOwner(paths.lock, staleMs);
    if (writing || attempt >= 2 || (await isUnchanged(paths.journal, raw.journal))) {
      return { raw, parsed, writing };
    }
  }
}

/** Whether the file at `path` is still the one read, at the size it had. */
async function isUnchanged(path: string, read: FileRead): Promise<boolean> {
  try {
    const now = await stat(path);
    return now.dev === read.dev && now.ino === read.ino && now.size === read.bytes.length;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}
