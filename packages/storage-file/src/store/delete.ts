import { unlink } from 'node:fs/promises';
import type { StoreContext } from './context.js';
import { removePreviousGeneration } from './generations.js';
import { fsyncDir, isMissing } from './io.js';

/** Deletes a checkpoint's snapshot and journal; true when there was a file to delete. */
export async function deleteNow(ctx: StoreContext, id: string): Promise<boolean> {
  const at = ctx.paths(id);
  await ctx.mayWrite(at, id);
  await ctx.writers.drop(id);
  // The previous generation first: it must never outlive its checkpoint and be taken, by a
  // later repair, for the history of a new checkpoint of the same id.
  if (await removePreviousGeneration(at)) await fsyncDir(ctx.dir);
  let found = false;
  // The snapshot goes first: a journal left alone by a crash then fails loudly (it continues a
  // missing snapshot) or still holds the whole state; it never passes for an older state.
  // The ack mark before both: a mark left behind would make a new checkpoint of this id look cut.
  for (const file of [at.ack, at.snapshot, at.journal]) {
    try {
      await unlink(file);
      if (file !== at.ack) found = true;
      await fsyncDir(ctx.dir);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return found;
}
