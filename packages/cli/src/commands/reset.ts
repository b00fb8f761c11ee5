import { type Change, isUnderPrefix } from '@checkpointkit/core';
import { Command } from 'commander';
import { checkpointId, unitKey } from '../arguments.js';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { editCheckpoint } from '../edit.js';
import { NotFoundError } from '../errors.js';
import { printable } from '../excerpt.js';

interface ResetOptions {
  keepCursor?: boolean;
  prefix?: boolean;
}

export function resetCommand(context: Context): Command {
  return new Command('reset')
    .description('put one unit (or every unit under a key prefix) back to pending')
    .argument('<id>', 'checkpoint id', checkpointId)
    .argument('<unit-key>', 'the unit key, such as collect/acme/api/pulls', unitKey)
    .option('--keep-cursor', 'resume from the unit cursor instead of starting it over')
    .option('--prefix', 'reset every unit at or below <unit-key>')
    .action(async (id: string, key: string, options: ResetOptions, command: Command) => {
      const keys = await withStore(context, storeOptionsOf(command), (handle) =>
        editCheckpoint(handle, id, (checkpoint) => {
          const chosen = options.prefix
            ? Object.keys(checkpoint.units).filter((unit) => isUnderPrefix(unit, key))
            : key in checkpoint.units
              ? [key]
              : [];
          if (chosen.length === 0) {
            const under = Object.keys(checkpoint.units).filter((unit) => isUnderPrefix(unit, key));
            const hint =
              !options.prefix && under.length > 0
                ? ` (${under.length} units lie below it: add --prefix to reset them)`
                : '';
            throw new NotFoundError(
              `checkpoint "${id}" has no unit ${options.prefix ? 'under ' : ''}"${key}"${hint}`,
            );
          }
          const at = new Date(context.now()).toISOString();
          const changes: Change[] = chosen.map((unit) => ({
            type: 'unit.reset',
            at,
            key: unit,
            keepCursor: !!options.keepCursor,
          }));
          return { changes, result: chosen };
        }),
      );
      const how = options.keepCursor ? 'resumes from its cursor' : 'starts over';
      if (keys.length === 1) {
        context.out.line(printable(`reset unit "${keys[0]}" of "${id}" to pending (it ${how})`));
      } else {
        context.out.line(
          printable(
            `reset ${keys.length} units under "${key}" of "${id}" to pending (each ${how})`,
          ),
        );
      }
    });
}
