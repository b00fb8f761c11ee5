import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Checkpoint, errorMessage, parseCheckpointJson } from '@checkpointkit/core';
import {
  checkpointFilesOf,
  parseCheckpointFiles,
  readLockOwner,
} from '@checkpointkit/storage-file';
import { type Context, withStore } from './context.js';
import { notFound } from './edit.js';
import { CliError, NotFoundError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { Origin } from './format/summary.js';
import { type StoreOptions, warnDamage } from './stores.js';

/** A checkpoint to show, and where it came from. */
export interface Loaded {
  checkpoint: Checkpoint;
  origin: Origin;
  /** True when the file is a file store's snapshot or journal (read with its other half). */
  storeFiles?: boolean;
}

/**
 * Reads what `show` was given: an existing file (a file store snapshot or journal, with its
 * other half; or a JSON document in any format core reads), else a checkpoint id in the store.
 * Nothing is locked or written.
 */
export async function loadTarget(
  target: string,
  context: Context,
  options: StoreOptions,
): Promise<Loaded> {
  const warn = (message: string) => context.out.warn(message);
  if (await isFile(target)) return loadFile(target, { warn });
  // A snapshot path whose checkpoint lives only in its journal so far (not compacted yet).
  const files = checkpointFilesOf(basename(target));
  if (files && (await isFile(join(dirname(target), files.journal)))) {
    return loadFile(target, { warn });
  }
  return withStore(context, options, async (handle) => {
    const checkpoint = await handle.read(target);
    if (!checkpoint) {
      if (/\.jsonl?$/.test(target)) {
        throw new NotFoundError(
          `no file ${target} and no checkpoint "${target}" in ${handle.description}`,
        );
      }
      throw notFound(handle, target);
    }
    return {
      checkpoint,
      origin: { source: handle.description, lock: await handle.lockOwner(target) },
    };
  });
}

/**
 * Reads one checkpoint file (see {@link loadTarget}). `id` names the checkpoint made from a seed
 * document (default: what core derives from the document or its file name).
 */
export async function loadFile(
  file: string,
  options: { id?: string; warn?: (message: string) => void } = {},
): Promise<Loaded> {
  const warn = options.warn ?? (() => {});
  const dir = dirname(file);
  const files = checkpointFilesOf(basename(file));
  if (files) {
    const snapshotFile = join(dir, files.snapshot);
    const journalFile = join(dir, files.journal);
    const snapshot = await readOptional(snapshotFile);
    const journal = await readOptional(journalFile);
    if (!isPlainDocument(snapshot)) {
      const ack = await readOptional(join(dir, files.ack));
      const parsed = parseCheckpointFiles({
        snapshot,
        journal,
        file: snapshotFile,
        journalFile,
        ack,
      });
      const { checkpoint } = parsed;
      warnDamage(parsed, journalFile, warn);
      return {
        checkpoint,
        origin: {
          source: file,
          format: 'checkpointkit/1, file store',
          lock: await readLockOwner(dir, checkpoint.id),
        },
        storeFiles: true,
      };
    }
  }
  const text = await readTextFile(file);
  const { format, checkpoint } = parseCheckpointJson(text, { file, id: options.id });
  return { checkpoint, origin: { source: file, format, lock: null } };
}

/** A snapshot that is a plain JSON checkpoint document, not the file store's envelope. */
function isPlainDocument(snapshot: string | null): boolean {
  return snapshot !== null && !/^\s*\{"format":"checkpointkit\/1","snapshot":/.test(snapshot);
}

/** The text of a file; a missing file is a NotFoundError, anything else unreadable a failure. */
export async function readTextFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new NotFoundError(`no file ${file}`);
    if (code === 'EISDIR')
      throw new CliError(`${file} is a directory, not a checkpoint file`, EXIT.USAGE);
    throw new CliError(`cannot read ${file}: ${errorMessage(error)}`, EXIT.FAILURE, {
      cause: error,
    });
  }
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
