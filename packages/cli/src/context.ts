import { CheckpointError, errorMessage } from '@checkpointkit/core';
import type { Command } from 'commander';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { Io, Output } from './output.js';
import { openStore, type StoreHandle, type StoreOptions } from './stores.js';

/** What every verb gets: where to write, the environment, and how to open the chosen store. */
export interface Context {
  io: Io;
  out: Output;
  /** Milliseconds since the epoch; a parameter so that output with ages can be tested. */
  now(): number;
  /** Set by a verb to end with a code other than 0 without an error message. */
  exitCode: number;
}

/** The store options of a verb, with the global ones (`--store`, `--dir`, `--url`, `--schema`). */
export function storeOptionsOf(command: Command): StoreOptions {
  return command.optsWithGlobals<StoreOptions>();
}

/** Opens the store a verb's options name, runs `fn` and closes the store whatever happens. */
export async function withStore<T>(
  context: Context,
  options: StoreOptions,
  fn: (handle: StoreHandle) => Promise<T>,
): Promise<T> {
  const handle = await openStore(options, context.io.env, (message) => context.out.warn(message));
  return useStore(handle, fn);
}

/** Runs `fn` with an open store and closes it whatever happens. */
export async function useStore<T>(
  handle: StoreHandle,
  fn: (handle: StoreHandle) => Promise<T>,
): Promise<T> {
  try {
    return await fn(handle);
  } catch (error) {
    const unmigrated = notMigrated(error);
    if (handle.kind === 'postgres' && unmigrated) {
      throw new CliError(
        `${handle.description}: schema "${unmigrated.schema}" lacks CheckpointKit's tables (migration ${unmigrated.missing.join(', ')}), so it holds no checkpoints: check --schema (a job's store makes them on its first run)`,
        EXIT.NOT_FOUND,
        { cause: error },
      );
    }
    // A driver error (connection refused, authentication) says nothing of where it came from.
    if (handle.kind === 'postgres' && !(error instanceof CheckpointError)) {
      throw new CliError(`${handle.description}: ${errorMessage(error)}`, EXIT.FAILURE, {
        cause: error,
      });
    }
    throw error;
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * storage-postgres's `SchemaNotMigratedError`, known by its name: the CLI loads that package only
 * for `--store postgres`, so it cannot test with `instanceof` here.
 */
function notMigrated(error: unknown): { schema: string; missing: readonly string[] } | null {
  if (!(error instanceof Error) || error.name !== 'SchemaNotMigratedError') return null;
  const { schema, missing } = error as Error & { schema?: unknown; missing?: unknown };
  return typeof schema === 'string' && Array.isArray(missing) ? { schema, missing } : null;
}
