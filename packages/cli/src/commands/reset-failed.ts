import { type Change, isUnderPrefix } from '@checkpointkit/core';
import { Command } from 'commander';
import { checkpointId, unitKey } from '../arguments.js';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { editCheckpoint } from '../edit.js';
import { printable } from '../excerpt.js';
import { failedUnits } from '../format/failed.js';

interface ResetFailedOptions {
  restart?: boolean;
  retryableOnly?: boolean;
  under?: string;
}

export function resetFailedCommand(context: Context): Command {
  return new Command('reset-failed')
    .description('put failed units back to pending, so the next run retries them')
    .argument('<id>', 'checkpoint id', checkpointId)
    .option('--restart', 'start the units over instead of resuming from their cursor')
    .option('--retryable-only', 'only units whose error was marked retryable')
    .option('--under <prefix>', 'only units at or below this key prefix', unitKey)
    .action(async (id: string, options: ResetFailedOptions, command: Command) => {
      const { keys, failed } = await withStore(context, storeOptionsOf(command), (handle) =>
        editCheckpoint(handle, id, (checkpoint) => {
          const at = new Date(context.now()).toISOString();
          const all = failedUnits(checkpoint);
          const chosen = all
            .filter(({ unit }) => !options.retryableOnly || unit.error?.retryable !== false)
            .filter(({ key }) => options.under === undefined || isUnderPrefix(key, options.under))
            .map(({ key }) => key);
          const changes: Change[] = chosen.map((key) => ({
            type: 'unit.reset',
            at,
            key,
            keepCursor: !options.restart,
          }));
          return { changes, result: { keys: chosen, failed: all.length } };
        }),
      );
      if (failed === 0) {
        context.out.line(`no failed units to reset in "${printable(id)}"`);
        return;
      }
      if (keys.length === 0) {
        // "No failed units" would be false: there are some, which the options left out.
        const which = [
          options.retryableOnly ? 'retryable' : '',
          options.under !== undefined ? `under "${options.under}"` : '',
        ]
          .filter(Boolean)
          .join(' and ');
        context.out.line(
          printable(
            `none of the ${failed} failed ${failed === 1 ? 'unit' : 'units'} of "${id}" is ${which}: nothing was reset`,
          ),
        );
        return;
      }
      const one = keys.length === 1;
      const how = options.restart
        ? `${one ? 'it starts' : 'they start'} over`
        : `${one ? 'it resumes from its' : 'they resume from their'} cursor`;
      context.out.line(
        `reset ${keys.length} failed ${keys.length === 1 ? 'unit' : 'units'} of "${printable(id)}" to pending (${how})`,
      );
      for (const key of keys) context.out.line(`  ${printable(key)}`);
    });
}
