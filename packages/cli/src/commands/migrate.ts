import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  CheckpointError,
  checkpointToChanges,
  formatSummaryLine,
  summarize,
} from '@checkpointkit/core';
import { checkpointFileName } from '@checkpointkit/storage-file';
import { Command } from 'commander';
import { checkpointId } from '../arguments.js';
import { type Context, storeOptionsOf, useStore } from '../context.js';
import { checkDeletable } from '../deletable.js';
import { CliError } from '../errors.js';
import { printable } from '../excerpt.js';
import { EXIT } from '../exit-codes.js';
import { maxSizeOption } from '../size.js';
import { checkSpelling } from '../spelling.js';
import { checkStoreDir } from '../store-dir.js';
import {
  openFileStore,
  openStore,
  type StoreHandle,
  type StoreOptions,
  storeKind,
  typedPostgresOption,
} from '../stores.js';
import { loadFile } from '../target.js';

interface MigrateOptions {
  id?: string;
  out?: string;
  force?: boolean;
  maxSize?: number;
}

export function migrateCommand(context: Context): Command {
  return new Command('migrate')
    .description(
      'convert a checkpoint file in an older format to the current one, into --dir or beside it',
    )
    .argument(
      '<file>',
      'a checkpoint file: seed 000, seed 002 v1.0/v2.0, seed 003 or canonical JSON',
    )
    .option(
      '--id <id>',
      'id of the migrated checkpoint (default: taken from the file)',
      checkpointId,
    )
    .option(
      '--out <dir>',
      "directory of the file store to write into, as --dir (default: CHECKPOINT_DIR, else the file's directory)",
    )
    .option('-f, --force', 'replace an existing checkpoint with the same id')
    .addOption(maxSizeOption())
    .action(async (file: string, options: MigrateOptions, command: Command) => {
      const warn = (message: string) => context.out.warn(message);
      const storeOptions = storeOptionsOf(command);
      const { dir, from } = targetDir(file, options, storeOptions, context.io.env);
      // --out is a typed option of the file store, as --dir is: it beats CHECKPOINT_STORE.
      const postgres =
        storeKind({ ...storeOptions, dir: storeOptions.dir ?? options.out }, context.io.env) ===
        'postgres';
      if (!postgres) {
        // Checked only for the file store: CHECKPOINT_DIR is not read for PostgreSQL.
        if (from !== null) checkSpelling(dir, from, 'dir');
        await checkStoreDir(dir);
      }
      const { checkpoint, origin, storeFiles } = await loadFile(file, {
        id: options.id,
        warn,
        maxSize: options.maxSize,
      });
      const format = origin.format ?? checkpoint.format;
      if (options.id !== undefined) checkpoint.id = options.id;
      if (
        !postgres &&
        storeFiles &&
        resolve(dir) === resolve(dirname(file)) &&
        options.id === undefined
      ) {
        context.out.line(
          printable(`${file} is already a checkpoint of the file store: nothing to migrate`),
        );
        return;
      }
      const changes = checkpointToChanges(checkpoint);
      const handle = postgres
        ? await openStore(storeOptions, context.io.env, warn, { create: true })
        : openFileStore(dir, warn, dir);
      const target = postgres
        ? `checkpoint "${checkpoint.id}" in ${handle.description}`
        : join(dir, checkpointFileName(checkpoint.id));
      if (!postgres && resolve(target) === resolve(file)) {
        throw new CliError(
          `${file} would be replaced by its own migration: pass --out <dir> to write it elsewhere`,
          EXIT.EXISTS,
        );
      }
      await useStore(handle, async () => {
        const lock = await handle.store.lock(checkpoint.id);
        try {
          if (await exists(handle, checkpoint.id)) {
            if (!options.force) {
              throw new CliError(
                `${target} already exists: pass --force to replace it (nothing was written)`,
                EXIT.EXISTS,
              );
            }
            if (handle.dir !== undefined) {
              await checkDeletable(handle.dir, checkpoint.id, 'migrate --force');
            }
            await handle.store.delete(checkpoint.id);
          }
          await handle.store.append(checkpoint.id, changes);
          await handle.store.compact(checkpoint.id);
          const written = await handle.store.load(checkpoint.id);
          if (!isDeepStrictEqual(written, checkpoint)) {
            throw new CheckpointError(
              `${target} does not read back as the checkpoint migrated from ${file}`,
            );
          }
        } finally {
          await lock.release();
        }
      });
      context.out.line(printable(`migrated ${file} (${format}) to ${target}`));
      context.out.line(`  ${printable(formatSummaryLine(summarize(checkpoint)))}`);
    });
}

/**
 * The file store to write into: `--out` or `--dir` (the same; both must agree), else
 * `CHECKPOINT_DIR`, so that `ls` with the same options lists the result; else the file's own
 * directory. `from`: which of them, for messages (null: the file's directory).
 */
function targetDir(
  file: string,
  options: MigrateOptions,
  storeOptions: StoreOptions,
  env: NodeJS.ProcessEnv,
): { dir: string; from: '--out' | '--dir' | 'CHECKPOINT_DIR' | null } {
  const { out } = options;
  const { dir } = storeOptions;
  const postgres = typedPostgresOption(storeOptions);
  if (out !== undefined && postgres) {
    throw new CliError(
      `--out names a file store and ${postgres} a PostgreSQL one: pass the options of one store`,
      EXIT.USAGE,
    );
  }
  if (out !== undefined && dir !== undefined && resolve(out) !== resolve(dir)) {
    throw new CliError(
      `--dir and --out name different directories (${dir}, ${out}): pass one of them`,
      EXIT.USAGE,
    );
  }
  if (out !== undefined) return { dir: out, from: '--out' };
  if (dir !== undefined) return { dir, from: '--dir' };
  if (env.CHECKPOINT_DIR) return { dir: env.CHECKPOINT_DIR, from: 'CHECKPOINT_DIR' };
  return { dir: dirname(file), from: null };
}

/** True when the store holds the id, even as files it cannot read (those are replaced only with --force). */
async function exists(handle: StoreHandle, id: string): Promise<boolean> {
  try {
    return (await handle.store.load(id)) !== null;
  } catch (error) {
    if (error instanceof CheckpointError) return true;
    throw error;
  }
}
