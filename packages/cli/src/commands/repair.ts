import { relative, resolve } from 'node:path';
import { CheckpointFormatError } from '@checkpointkit/core';
import type { RepairReport } from '@checkpointkit/storage-file';
import { Command } from 'commander';
import { confirm } from '../confirm.js';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { notFound } from '../edit.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { storeDir, storeKind } from '../stores.js';

/**
 * `repair <id>`: moves a damaged checkpoint's files aside (`<name>.corrupt-<time>`, bytes kept)
 * and writes back the state every valid change gives. File store only; never under a running
 * job's lock.
 */
export function repairCommand(context: Context): Command {
  return new Command('repair')
    .description(
      'file store: move a damaged checkpoint aside and keep every valid change (asks first unless --yes)',
    )
    .argument('<id>', 'checkpoint id')
    .option('-y, --yes', 'do not ask')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      const storeOptions = storeOptionsOf(command);
      if (storeKind(storeOptions, context.io.env) !== 'file') {
        throw new CliError(
          'repair is for the file store: a PostgreSQL checkpoint has no damaged files to move aside',
          EXIT.USAGE,
        );
      }
      await withStore(context, storeOptions, async (handle) => {
        const repair = handle.repair;
        if (!repair) throw new CliError('repair is for the file store', EXIT.USAGE);
        let damage: string;
        try {
          if (!(await handle.read(id))) throw notFound(handle, id);
          context.out.line(`checkpoint "${id}" is readable: nothing to repair`);
          return;
        } catch (error) {
          if (!(error instanceof CheckpointFormatError)) throw error;
          damage = error.message;
        }
        // A running job's lock: CheckpointLockedError naming the owner (exit 4), nothing touched.
        const lock = await handle.store.lock(id);
        let report: RepairReport;
        try {
          if (!options.yes) {
            await confirm(
              context,
              `repair checkpoint "${id}" (damaged: ${damage}) in ${handle.description}, moving the damaged files aside?`,
              'repair',
            );
          }
          report = await repair(id);
        } finally {
          await lock.release();
        }
        printReport(
          context,
          report,
          handle.description,
          resolve(storeDir(storeOptions, context.io.env)),
        );
      });
    });
}

/** What was damaged and what was done, file names relative to the store's directory `dir`. */
function printReport(
  context: Context,
  report: RepairReport,
  description: string,
  dir: string,
): void {
  const { out } = context;
  const name = (file: string) => relative(dir, resolve(dir, file));
  if (report.damage.length === 0) {
    out.line(`checkpoint "${report.id}" is readable: nothing to repair`);
    return;
  }
  out.line(`repaired checkpoint "${report.id}" in ${description}`);
  for (const damage of report.damage) {
    out.line(`  damaged      ${name(damage.file)}${lineOf(damage.line)}: ${reasonOf(damage)}`);
  }
  for (const file of report.movedAside) out.line(`  moved aside  ${name(file)}`);
  out.line(`  kept         ${plural(report.keptChanges, 'change')}`);
  out.line(`  dropped      ${plural(report.droppedBatches, 'batch', 'batches')}`);
  out.line(
    `  torn tail    ${report.tornTail ? `line ${report.tornTail.line} (${plural(report.tornTail.bytes, 'byte')}) cut off` : 'none'}`,
  );
  if (report.snapshotLost) {
    out.line(
      '  the snapshot was lost: the checkpoint was rebuilt from the journal alone; work from before it is redone',
    );
  }
  if (!report.exists) {
    out.line(
      '  no valid change was left: the checkpoint no longer exists (its files were kept aside)',
    );
  }
}

const lineOf = (line: number | undefined) => (line === undefined ? '' : `:${line}`);

/** The message without the `<file>[:<line>]: ` it starts with: the file is printed relative. */
function reasonOf(damage: RepairReport['damage'][number]): string {
  const prefix = `${damage.file}${lineOf(damage.line)}: `;
  return damage.message.startsWith(prefix) ? damage.message.slice(prefix.length) : damage.message;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
