import { formatSummaryLine, summarize } from '@checkpointkit/core';
import { Command } from 'commander';
import { confirm } from '../confirm.js';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { notFound, requireCheckpoint } from '../edit.js';

export function rmCommand(context: Context): Command {
  return new Command('rm')
    .description('delete a checkpoint (asks first unless --yes)')
    .argument('<id>', 'checkpoint id')
    .option('-y, --yes', 'do not ask')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      await withStore(context, storeOptionsOf(command), async (handle) => {
        const checkpoint = await requireCheckpoint(handle, id);
        const lock = await handle.store.lock(id);
        try {
          if (!options.yes) {
            const line = formatSummaryLine(summarize(checkpoint));
            await confirm(context, `delete checkpoint ${line} from ${handle.description}?`, 'rm');
          }
          if (!(await handle.store.delete(id))) throw notFound(handle, id);
        } finally {
          await lock.release();
        }
        context.out.line(`deleted checkpoint "${id}" from ${handle.description}`);
      });
    });
}
