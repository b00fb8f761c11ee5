import { relative, resolve } from 'node:path';
import { CheckpointFormatError, CheckpointLockedError } from '@checkpointkit/core';
import type { RepairReport } from '@checkpointkit/storage-file';
import { Command } from 'commander';
import { checkpointId } from '../arguments.js';
import { confirm } from '../confirm.js';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { notFound } from '../edit.js';
import { CliError, DamagedCheckpointError } from '../errors.js';
import { printable } from '../excerpt.js';
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
    .argument('<id>', 'checkpoint id', checkpointId)
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
          await checkPreviousGeneration(context, handle.store, id, repair, (report) =>
            printReport(
              context,
              report,
              handle.description,
              resolve(storeDir(storeOptions, context.io.env)),
            ),
          );
          return;
        } catch (error) {
          if (!(error instanceof CheckpointFormatError)) throw error;
          // A folder or pipe under a file's name: the store's repair would refuse it after the
          // question; said at once, with what to do instead.
          if (error instanceof DamagedCheckpointError && !error.repairable) throw error;
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

/**
 * A readable checkpoint: the store's repair still looks at its previous generation (`.prev`),
 * which the checkpoint no longer reads but a later repair may need, and reports one that is
 * damaged (kept aside as a hard link; nothing is changed, so nothing is asked). Under the lock,
 * which a running job holds: then there is nothing this command may do.
 */
async function checkPreviousGeneration(
  context: Context,
  store: { lock(id: string): Promise<{ release(): Promise<void> }> },
  id: string,
  repair: (id: string) => Promise<RepairReport>,
  print: (report: RepairReport) => void,
): Promise<void> {
  const lock = await store.lock(id).catch((error: unknown) => {
    if (error instanceof CheckpointLockedError) return null;
    throw error;
  });
  if (!lock) {
    context.out.line(printable(`checkpoint "${id}" is readable: nothing to repair`));
    return;
  }
  try {
    print(await repair(id));
  } finally {
    await lock.release();
  }
}

/**
 * What was damaged, kept, recovered and dropped, file names relative to the store's directory
 * `dir`. Every line is printed, "none" included, so a script (or a worried user) can read it.
 */
function printReport(
  context: Context,
  report: RepairReport,
  description: string,
  dir: string,
): void {
  // The report quotes file names and parsers' messages, which quote the damaged bytes: escaped.
  const out = { line: (text: string) => context.out.line(printable(text)) };
  const name = (file: string) => relative(dir, resolve(dir, file));
  const changed = report.damage.length > 0 || report.movedAside.length > 0;
  if (!changed) {
    out.line(`checkpoint "${report.id}" is readable: nothing to repair`);
    return;
  }
  // A readable checkpoint (the files as they were) whose previous generation is damaged.
  const untouched = report.exists && report.recoveredFrom === null && report.droppedBatches === 0;
  out.line(
    untouched && !report.tornTail
      ? `checkpoint "${report.id}" in ${description} is readable; a file it no longer reads is damaged, kept aside (the next compaction replaces it):`
      : `repaired checkpoint "${report.id}" in ${description}`,
  );
  for (const damage of report.damage) {
    out.line(`  damaged      ${name(damage.file)}${lineOf(damage.line)}: ${reasonOf(damage)}`);
  }
  for (const file of report.movedAside) out.line(`  kept aside   ${name(file)}`);
  if (untouched && !report.tornTail) return;
  out.line(`  recovered    ${recovered(report)}`);
  out.line(`  dropped      ${dropped(report)}`);
  out.line(
    `  torn tail    ${report.tornTail ? `line ${report.tornTail.line} (${plural(report.tornTail.bytes, 'byte')}, never acknowledged) cut off` : 'none'}`,
  );
  if (report.lost) {
    const missing = report.lost.acked - report.lost.found;
    out.line(
      `  lost         ${plural(missing, 'acknowledged batch', 'acknowledged batches')} (${report.lost.found + 1}-${report.lost.acked}): no file held them whole; their work is redone`,
    );
  }
  if (report.snapshotLost) {
    out.line(
      '  no snapshot and no first batch: the checkpoint was rebuilt from the journal alone; work from before it is redone',
    );
  }
  if (!report.exists) {
    out.line(
      '  no valid change was left: the checkpoint no longer exists (its files were kept aside)',
    );
  }
}

const FROM: Record<NonNullable<RepairReport['recoveredFrom']>, string> = {
  snapshot: 'the snapshot',
  'previous snapshot': 'the previous snapshot (the one the last compaction kept)',
  journal: 'the journal alone',
};

function recovered(report: RepairReport): string {
  if (!report.exists) return 'nothing';
  const units = plural(report.units, 'unit');
  const upTo = `up to batch ${report.seq}`;
  if (report.recoveredFrom === null) return `${units}, ${upTo} (the files as they were)`;
  return `${units}, ${upTo}: ${FROM[report.recoveredFrom]} and ${plural(report.keptChanges, 'journal change')}`;
}

function dropped(report: RepairReport): string {
  const parts: string[] = [];
  if (report.droppedBatches > 0) {
    const ranges = report.droppedRanges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
    parts.push(`${plural(report.droppedBatches, 'batch', 'batches')} (${ranges.join(', ')})`);
  }
  if (report.droppedBytes > 0)
    parts.push(`${plural(report.droppedBytes, 'byte')} of damaged lines`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
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
