import { resolve } from 'node:path';
import type { LockOwner } from '@checkpointkit/core';
import { encodeCheckpointId } from '../format/names.js';
import type { ParsedCheckpoint } from '../format/parse.js';
import { mismatchError, pathsOf, readConsistent } from './files.js';
import { DEFAULT_STALE_MS, liveOwner } from './lock.js';

/**
 * Reads a checkpoint without taking its lock, for tools that show checkpoints (the CLI). While a
 * writer appends or compacts, it always gives a state the writer acknowledged: the journal is
 * read before the snapshot, and a compaction renames the new snapshot into place before it
 * replaces the journal. Null when the checkpoint does not exist; {@link CheckpointFileError} on
 * damage. The files are never modified.
 */
export async function readCheckpointFiles(
  dir: string,
  id: string,
): Promise<ParsedCheckpoint | null> {
  const at = pathsOf(resolve(dir), encodeCheckpointId(id));
  const { raw, parsed } = await readConsistent(at);
  if (!parsed) return null;
  if (parsed.checkpoint.id !== id) {
    throw mismatchError(at, raw, parsed.checkpoint.id, id);
  }
  return {
    checkpoint: parsed.checkpoint,
    tornTail: parsed.tornTail,
    journalChanges: parsed.journalChanges,
    lost: parsed.lost,
  };
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
