import { dirname, resolve } from 'node:path';
import type { LockOwner } from '@checkpointkit/core';
import { checkpointStemFromFileName, encodeCheckpointId } from '../format/names.js';
import type { ParsedCheckpoint } from '../format/parse.js';
import { type CheckpointPaths, mismatchError, parseRaw, pathsOf, readSettled } from './files.js';
import { leftoversOnly } from './leftovers.js';
import { DEFAULT_STALE_MS, liveOwner } from './lock.js';

/** A checkpoint as {@link readCheckpointFiles} reads it. */
export interface CheckpointRead extends ParsedCheckpoint {
  /**
   * When the journal ends in an incomplete batch (`tornTail`) and a live process holds the
   * checkpoint's lock: that process. It is most likely writing that batch right now (the part
   * read is not acknowledged yet, and the state shown is the one before it), or else it keeps a
   * crash's leftovers aside and cuts them at its next save. Either way, nothing for a user to
   * act on: only a torn tail with no live writer (`writing` null) is a crash's.
   */
  writing: LockOwner | null;
}

/**
 * Reads a checkpoint without taking its lock, for tools that show checkpoints (the CLI). While a
 * writer appends or compacts, it always gives a state the writer acknowledged: the journal is
 * read before the snapshot, and a compaction renames the new snapshot into place before it
 * replaces the journal. An incomplete last batch is dropped, and `writing` tells whether a live
 * writer is still writing it or a crash left it. Null when the checkpoint does not exist;
 * {@link CheckpointFileError} on damage. The files are never modified.
 */
export async function readCheckpointFiles(
  dir: string,
  id: string,
  options: { staleMs?: number } = {},
): Promise<CheckpointRead | null> {
  const at = pathsOf(resolve(dir), encodeCheckpointId(id));
  const { raw, parsed, writing } = await readSettled(
    at,
    parseRaw,
    options.staleMs ?? DEFAULT_STALE_MS,
  );
  if (!parsed) return nothingOrLeftovers(at);
  if (parsed.checkpoint.id !== id) {
    throw mismatchError(at, raw, parsed.checkpoint.id, id);
  }
  return readOf(parsed, writing);
}

/**
 * Who holds the checkpoint's lock ("locked by pid X on host Y since Z"), or null when nobody
 * holds a live one: no lock, a lock not kept fresh for `staleMs`, or a lock of a dead process on
 * this host. A tool that edits checkpoints refuses while this is not null.
 */
export async function readLockOwner(
  dir: string,
  id: string,
  options: { staleMs?: number } = {},
): Promise<LockOwner | null> {
  const at = pathsOf(resolve(dir), encodeCheckpointId(id));
  return liveOwner(at.lock, options.staleMs ?? DEFAULT_STALE_MS);
}

/**
 * {@link readCheckpointFiles} for a file rather than an id: `file` is a snapshot or journal of
 * the file store (`<stem>.checkpoint.json` or `.jsonl`), read with the other files of its stem,
 * in the store's order, for `checkpointkit show <path>`. The checkpoint's id is not checked
 * against the name: a copied or renamed pair is read as it is. Null when neither file exists;
 * a `TypeError` when `file` is not named as one of the store's files.
 */
export async function readCheckpointFilesAt(
  file: string,
  options: { staleMs?: number } = {},
): Promise<CheckpointRead | null> {
  const stem = checkpointStemFromFileName(file);
  if (stem === null) {
    throw new TypeError(`${file} is not named as a file store's snapshot or journal`);
  }
  // Not resolved: messages name the files as the caller wrote them.
  const at = pathsOf(dirname(file), stem);
  const { parsed, writing } = await readSettled(at, parseRaw, options.staleMs ?? DEFAULT_STALE_MS);
  return parsed ? readOf(parsed, writing) : nothingOrLeftovers(at);
}

/**
 * Null for a checkpoint with no files; a `CheckpointFileError` for one whose snapshot and journal
 * were removed outside the store, leaving its previous generation or ack mark (which the store
 * refuses to open: `repair` recovers it, `delete` removes what is left).
 */
async function nothingOrLeftovers(at: CheckpointPaths): Promise<null> {
  const leftover = await leftoversOnly(at);
  if (leftover) throw leftover;
  return null;
}

/** What a reader returns of the parsed files (not the writer's bookkeeping). */
function readOf(parsed: ParsedCheckpoint, writing: LockOwner | null): CheckpointRead {
  const { checkpoint, tornTail, journalChanges, lost } = parsed;
  return { checkpoint, tornTail, journalChanges, lost, writing };
}
