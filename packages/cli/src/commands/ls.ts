import { resolve } from 'node:path';
import type { CheckpointSummary, LockOwner } from '@checkpointkit/core';
import { Command } from 'commander';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { CliError } from '../errors.js';
import { printable } from '../excerpt.js';
import { EXIT } from '../exit-codes.js';
import { percentText } from '../format/percent.js';
import { statusText } from '../format/status.js';
import { table } from '../format/table.js';
import { age } from '../format/time.js';
import { findSeedFiles } from '../seed-files.js';
import { checkSpelling } from '../spelling.js';
import { checkStoreDir } from '../store-dir.js';
import { explicitDir, storeKind, typedPostgresOption } from '../stores.js';

/**
 * One row of `ls --json`: the summary of a checkpoint and who holds its lock; a seed-format file
 * found in the folder also has its `file` and `format`.
 */
export interface Listing extends CheckpointSummary {
  lockedBy: LockOwner | null;
  file?: string;
  format?: string;
}

export function lsCommand(context: Context): Command {
  return new Command('ls')
    .description('list the checkpoints in a store')
    .argument(
      '[dir]',
      'directory of the file store (default: --dir, CHECKPOINT_DIR or .checkpoints)',
    )
    .option('--json', 'print a JSON array of summaries')
    .action(async (dir: string | undefined, options: { json?: boolean }, command: Command) => {
      const storeOptions = storeOptionsOf(command);
      if (dir !== undefined) {
        checkSpelling(dir, `ls ${dir}`, 'dir');
        // A typed folder is a typed option of the file store, as --dir is: it beats
        // CHECKPOINT_STORE=postgres, and a typed option of PostgreSQL conflicts with it.
        if (typedPostgresOption(storeOptions)) {
          throw new CliError(`ls ${dir}: a directory applies to the file store only`, EXIT.USAGE);
        }
        if (storeOptions.dir !== undefined && resolve(storeOptions.dir) !== resolve(dir)) {
          throw new CliError(
            `ls ${dir} and --dir ${storeOptions.dir} name different directories: pass one of them`,
            EXIT.USAGE,
          );
        }
        storeOptions.dir = dir;
      }
      const kind = storeKind(storeOptions, context.io.env);
      // CHECKPOINT_DIR is not read for PostgreSQL: a bad one does not matter there.
      const explicit = kind === 'file' ? explicitDir(storeOptions, context.io.env) : undefined;
      if (kind === 'file' && explicit) await checkStoreDir(explicit, true);
      await withStore(context, storeOptions, async (handle) => {
        const listings = (await handle.store.list()).sort((a, b) => a.id.localeCompare(b.id));
        const rows: Listing[] = [];
        for (const { summary } of listings) {
          rows.push({ ...summary, lockedBy: await handle.lockOwner(summary.id) });
        }
        // Seed-format files are not in the store: they lie in the folder listed (or the
        // current one), where the seeds' managers wrote them.
        const seeds =
          kind === 'file'
            ? await findSeedFiles(explicit ?? process.cwd())
            : { found: [], refused: [] };
        for (const { file, format, summary } of seeds.found) {
          rows.push({ ...summary, lockedBy: null, file, format });
        }
        for (const { message } of seeds.refused) context.out.warn(message);
        if (options.json) return context.out.json(rows);
        if (rows.length === 0) return context.out.note(`no checkpoints in ${handle.description}`);
        const withFiles = rows.some((row) => row.file !== undefined);
        const c = context.out.color;
        const now = context.now();
        context.out.lines(
          table(
            [
              ['ID', 'STATUS', 'PERCENT', 'UNITS', 'FAILED', 'UPDATED']
                .concat(withFiles ? ['SOURCE'] : [])
                .map((h) => c.bold(h)),
              ...rows.map((row) => [
                printable(row.id),
                statusText(row.status, c) + (row.lockedBy ? c.yellow(' (locked)') : ''),
                percentText(row.percent),
                `${row.counts.complete}/${row.total}`,
                row.counts.failed > 0 ? c.red(String(row.counts.failed)) : '0',
                age(row.updatedAt, now),
                ...(withFiles
                  ? [row.file ? printable(`${row.file} (${row.format})`) : 'store']
                  : []),
              ]),
            ],
            { right: [2, 3, 4] },
          ),
        );
      });
    });
}
