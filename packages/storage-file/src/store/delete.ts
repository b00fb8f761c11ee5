import { lstat, unlink } from 'node:fs/promises';
import { CheckpointFileError, describeNonFile } from '../format/errors.js';
import type { StoreContext } from './context.js';
import type { CheckpointPaths } from './files.js';
import { removePreviousGeneration } from './generations.js';
import { fsyncDir, isMissing } from './io.js';

/** Deletes a checkpoint's snapshot and journal; true when there was a file to delete. */
export async function deleteNow(ctx: StoreContext, id: string): Promise<boolean> {
  const at = ctx.paths(id);
  await ctx.mayWrite(at, id);
  await refuseFolders(at);
  await ctx.writers.drop(id);
  // The previous generation first: it must never outlive its checkpoint and be taken, by a
  // later repair, for the history of a new checkpoint of the same id.
  // What a checkpoint removed outside the store left (a previous generation, an ack mark) is
  // one too: deleting it is what its refusal to open asks for.
  let found = await removePreviousGeneration(at);
  if (found) await fsyncDir(ctx.dir);
  // The snapshot goes first: a journal left alone by a crash then fails loudly (it continues a
  // missing snapshot) or still holds the whole state; it never passes for an older state.
  // The ack mark before both: a mark left behind would make a new checkpoint of this id look cut.
  for (const file of [at.ack, at.snapshot, at.journal]) {
    try {
      await unlink(file);
      found = true;
      await fsyncDir(ctx.dir);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return found;
}

/**
 * Looks at every name first, so that nothing is deleted unless all of it can be: unlink stops at
 * a folder (someone's own, which is never deleted with its contents), and a delete that stopped
 * there left the checkpoint without its ack mark and snapshot (measured). Anything but a folder
 * (a link, a pipe) is unlinked without touching what it names.
 */
async function refuseFolders(at: CheckpointPaths): Promise<void> {
  for (const file of [at.previousSnapshot, at.previousJournal, at.ack, at.snapshot, at.journal]) {
    const info = await lstat(file).catch(() => null);
    if (info?.isDirectory()) {
      throw new CheckpointFileError(
        file,
        'type',
        `it is ${describeNonFile(info)}, not a file; the checkpoint was not deleted (move the folder away first)`,
      );
    }
  }
}
