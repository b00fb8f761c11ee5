import { readdir } from 'node:fs/promises';
import type { Checkpoint, CheckpointListing } from '@checkpointkit/core';
import { CheckpointFileError } from '../format/errors.js';
import {
  CORRUPT_INFIX,
  checkpointStemFromFileName,
  encodeCheckpointId,
  TORN_INFIX,
} from '../format/names.js';
import type { StoreContext } from './context.js';
import {
  mismatchError,
  parseRaw,
  pathsOf,
  readConsistent,
  readConsistentWith,
  readSettled,
  summarizeRaw,
} from './files.js';
import { isMissing } from './io.js';
import { leftoverError, leftoverStem, leftoversOnly } from './leftovers.js';

/**
 * Reads a checkpoint's state (null when it has no files), remembers what the writer needs, and
 * warns about a torn journal tail unless a live writer may still be writing it (see
 * {@link readSettled}).
 */
export async function loadNow(ctx: StoreContext, id: string): Promise<Checkpoint | null> {
  const at = ctx.paths(id);
  // Under our own lock nobody else writes: a torn tail is a crash's leftovers.
  const { raw, parsed, writing } = ctx.mine.get(at.lock)
    ? { ...(await readConsistent(at)), writing: null }
    : await readSettled(at, parseRaw, ctx.staleMs);
  if (parsed && parsed.checkpoint.id !== id) {
    throw mismatchError(at, raw, parsed.checkpoint.id, id);
  }
  if (!parsed && ctx.mine.get(at.lock)) {
    // No files: a new checkpoint, unless a previous generation or an ack mark says it was removed.
    // Under the lock only, where no delete (which takes the mark first) runs beside this read.
    const leftover = await leftoverError(at, raw.ack);
    if (leftover) throw leftover;
  }
  if (parsed?.lost) {
    // Writing now would build on a state that lacks acknowledged changes, and cut the evidence.
    throw lostError(at.journal, parsed.lost);
  }
  ctx.writers.remember(id, raw, parsed);
  // A torn tail that a live writer is still writing (or will cut) is no crash: nothing to say.
  if (parsed?.tornTail && !writing) {
    ctx.warn({
      code: 'torn-tail',
      message: `${at.journal}:${parsed.tornTail.line}: ignored ${parsed.tornTail.bytes} bytes after the last complete batch (a write cut short by a crash; the next save keeps them aside in ${at.journal}${TORN_INFIX}<time> and cuts them)`,
      checkpointId: id,
      file: at.journal,
    });
  }
  return parsed?.checkpoint ?? null;
}

/** Lists the checkpoints in the directory; a checkpoint whose files cannot be read is skipped with a warning. */
export async function listNow(ctx: StoreContext): Promise<CheckpointListing[]> {
  let names: string[];
  try {
    names = await readdir(ctx.dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const stems = new Set<string>();
  for (const name of names) {
    if (name.includes(CORRUPT_INFIX)) continue;
    // A previous generation or ack mark alone: named by the warning below, not passed over.
    const stem = checkpointStemFromFileName(name) ?? leftoverStem(name);
    if (stem !== null) stems.add(stem);
  }
  const listings: CheckpointListing[] = [];
  for (const stem of stems) {
    const at = pathsOf(ctx.dir, stem);
    try {
      // The summary only: a listing of large checkpoints does not build their units.
      const { parsed } = await readConsistentWith(at, summarizeRaw);
      if (!parsed) {
        const leftover = await leftoversOnly(at);
        if (leftover) throw leftover;
        continue;
      }
      const id = parsed.summary.id;
      if (encodeCheckpointId(id) !== stem) {
        ctx.warn({
          code: 'unreadable-checkpoint',
          message: `${at.snapshot}: holds checkpoint ${JSON.stringify(id)}, whose files have another name; skipped`,
          file: at.snapshot,
        });
        continue;
      }
      if (parsed.lost) {
        ctx.warn({
          code: 'lost-batches',
          message: lostError(at.journal, parsed.lost).message,
          checkpointId: id,
          file: at.journal,
        });
      }
      listings.push({ id, summary: parsed.summary });
    } catch (error) {
      ctx.warn({
        code: 'unreadable-checkpoint',
        message: `skipped: ${(error as Error).message}`,
        file: at.snapshot,
      });
    }
  }
  return listings;
}

/** The error for a journal that lost acknowledged batches: what is missing, and what to do. */
export function lostError(
  journal: string,
  lost: { acked: number; found: number },
): CheckpointFileError {
  const missing = lost.acked - lost.found;
  return new CheckpointFileError(
    journal,
    'lost',
    `the journal ends at batch ${lost.found}, but batch ${lost.acked} was acknowledged: ${missing} acknowledged batch${missing === 1 ? '' : 'es'} missing (the file was cut or replaced; a crash tears only the batch in flight). \`checkpointkit repair\` keeps the files aside and goes on from what is left`,
  );
}
