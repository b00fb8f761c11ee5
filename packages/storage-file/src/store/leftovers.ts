/**
 * Files a checkpoint leaves behind when its snapshot and journal are gone. The store's own
 * removals (`delete`, a `repair` that found nothing) take the previous generation and the ack
 * mark first, so finding either without a snapshot and a journal means those two were removed or
 * moved outside the store: the checkpoint is not new. Starting it anew would drop its history
 * without a word, and a later `repair` would take the old previous generation for the new
 * checkpoint's (its snapshot reaches a higher batch) and drop the new batches as covered.
 */
import { lstat } from 'node:fs/promises';
import { CheckpointFileError } from '../format/errors.js';
import {
  ACK_SUFFIX,
  checkpointStemFromFileName,
  PREVIOUS_SUFFIX,
  SNAPSHOT_SUFFIX,
} from '../format/names.js';
import { decodeAck } from '../format/parse.js';
import type { CheckpointPaths } from './files.js';
import { readOrNull } from './io.js';

/**
 * Why a checkpoint without snapshot and journal is not new, or null when it is: a previous
 * generation still there (kind `missing`), or an ack mark of a batch above 0 (kind `lost`).
 */
export async function leftoverError(
  at: CheckpointPaths,
  ack: Uint8Array | null,
): Promise<CheckpointFileError | null> {
  const previous: string[] = [];
  for (const file of [at.previousSnapshot, at.previousJournal]) {
    if (await lstat(file).catch(() => null)) previous.push(file);
  }
  const remedy =
    '`repair` recovers what the files left behind hold; `delete` removes them to start anew';
  if (previous.length > 0) {
    return new CheckpointFileError(
      at.snapshot,
      'missing',
      `the snapshot and the journal are missing, but the previous generation a compaction kept is there (${previous.join(', ')}): they were removed outside the store; ${remedy}`,
    );
  }
  const acked = decodeAck(ack);
  if (acked !== null && acked > 0) {
    return new CheckpointFileError(
      at.journal,
      'lost',
      `the snapshot and the journal are missing, but batch ${acked} was acknowledged (${at.ack}): they were removed or replaced outside the store; ${remedy}`,
    );
  }
  return null;
}

/**
 * {@link leftoverError} for a reader without the lock that found neither snapshot nor journal
 * (`checkpointkit show`, `ls`, `rm`, `repair`): the ack mark read afresh, since a delete removes
 * it before those two. Null when a job started the checkpoint anew meanwhile (a journal is there
 * now: it writes that before any mark).
 */
export async function leftoversOnly(at: CheckpointPaths): Promise<CheckpointFileError | null> {
  const leftover = await leftoverError(at, await readOrNull(at.ack));
  if (!leftover) return null;
  const anew =
    (await lstat(at.journal).catch(() => null)) ?? (await lstat(at.snapshot).catch(() => null));
  return anew ? null : leftover;
}

/** The stem of a previous generation's or an ack mark's file name of ours, else null. */
export function leftoverStem(name: string): string | null {
  if (name.endsWith(PREVIOUS_SUFFIX)) {
    return checkpointStemFromFileName(name.slice(0, -PREVIOUS_SUFFIX.length));
  }
  if (name.endsWith(ACK_SUFFIX)) {
    return checkpointStemFromFileName(name.slice(0, -ACK_SUFFIX.length) + SNAPSHOT_SUFFIX);
  }
  return null;
}
