import {
  type Checkpoint,
  CheckpointFormatError,
  formatSummaryLine,
  summarize,
} from '@checkpointkit/core';
import { Command } from 'commander';
import { checkpointId } from '../arguments.js';
import { confirm } from '../confirm.js';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { checkDeletable } from '../deletable.js';
import { notFound } from '../edit.js';
import { printable } from '../excerpt.js';
import type { StoreHandle } from '../stores.js';

export function rmCommand(context: Context): Command {
  return new Command('rm')
    .description('delete a checkpoint (asks first unless --yes); damaged ones too')
    .argument('<id>', 'checkpoint id', checkpointId)
    .option('-y, --yes', 'do not ask')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      await withStore(context, storeOptionsOf(command), async (handle) => {
        const what = await describe(handle, id);
        const lock = await handle.store.lock(id);
        try {
          if (handle.dir !== undefined) await checkDeletable(handle.dir, id, 'rm');
          if (!options.yes) {
            await confirm(context, `delete checkpoint ${what} from ${handle.description}?`, 'rm');
          }
          if (!(await handle.store.delete(id))) throw notFound(handle, id);
        } finally {
          await lock.release();
        }
        context.out.line(printable(`deleted checkpoint "${id}" from ${handle.description}`));
      });
    });
}

/**
 * The summary line of the checkpoint to delete. A damaged checkpoint can be deleted too (that is
 * often why one deletes it): it is described by what is wrong with it.
 */
async function describe(handle: StoreHandle, id: string): Promise<string> {
  let checkpoint: Checkpoint | null;
  try {
    checkpoint = await handle.read(id);
  } catch (error) {
    if (error instanceof CheckpointFormatError) return `"${id}" (damaged: ${error.message})`;
    throw error;
  }
  if (!checkpoint) throw notFound(handle, id);
  return formatSummaryLine(summarize(checkpoint));
}
