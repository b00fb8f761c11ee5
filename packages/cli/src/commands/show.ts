import { summarize } from '@checkpointkit/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkpointId } from '../arguments.js';
import { type Context, storeOptionsOf } from '../context.js';
import { failedLines, failedUnits } from '../format/failed.js';
import { summaryLines } from '../format/summary.js';
import { buildTree, DEFAULT_TREE, renderTree } from '../format/tree.js';
import { maxSizeOption } from '../size.js';
import { loadTarget } from '../target.js';

interface ShowOptions {
  depth: number;
  limit: number;
  all?: boolean;
  json?: boolean;
  maxSize?: number;
}

/** How many failed units `show` lists before it sums up the rest (all of them with `--all`). */
const FAILED_LIMIT = 20;

export function showCommand(context: Context): Command {
  return new Command('show')
    .description('show a checkpoint: summary, unit tree, failed units with their errors')
    .argument(
      '<id|file>',
      'a checkpoint id in the store, or a checkpoint file in any known format',
      checkpointId,
    )
    .option('--depth <n>', 'levels of unit groups to open', positiveInt, DEFAULT_TREE.depth)
    .option('--limit <n>', 'entries shown per group', positiveInt, DEFAULT_TREE.limit)
    .addOption(allOption())
    .option('--json', 'print the summary, the lock, the format and the whole checkpoint as JSON')
    .addOption(maxSizeOption())
    .action(async (target: string, options: ShowOptions, command: Command) => {
      const { checkpoint, origin } = await loadTarget(
        target,
        context,
        storeOptionsOf(command),
        options.maxSize,
      );
      const failed = failedUnits(checkpoint);
      if (options.json) {
        return context.out.json({
          summary: summarize(checkpoint),
          lockedBy: origin.lock,
          source: origin.source,
          format: origin.format ?? checkpoint.format,
          checkpoint,
        });
      }
      const c = context.out.color;
      const out = context.out;
      out.lines(summaryLines(checkpoint, origin, c, context.now()));
      const root = buildTree(checkpoint.units);
      if (root.total > 0) {
        out.line();
        out.line(c.bold(`Units (${root.total})`));
        out.lines(
          renderTree(root, c, { depth: options.depth, limit: options.limit, all: !!options.all }),
        );
      }
      if (failed.length > 0) {
        out.line();
        out.line(c.bold(c.red(`Failed units (${failed.length})`)));
        out.lines(failedLines(failed, c, options.all ? Number.POSITIVE_INFINITY : FAILED_LIMIT));
      }
    });
}

/**
 * `--all` opens every level and lists every entry, so a `--depth` or `--limit` typed with it was
 * dropped without a word: refused as a usage error naming both (their defaults do not count).
 */
function allOption(): Option {
  return new Option('--all', 'open every group and list every unit and failure').conflicts([
    'depth',
    'limit',
  ]);
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}
