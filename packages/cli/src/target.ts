import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { type Checkpoint, errorMessage, parseCheckpointJson } from '@checkpointkit/core';
import {
  checkpointFilesOf,
  readCheckpointFilesAt,
  readLockOwner,
} from '@checkpointkit/storage-file';
import { type Context, withStore } from './context.js';
import { notFound } from './edit.js';
import { CliError, NotFoundError, shellWord } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { Origin } from './format/summary.js';
import { DEFAULT_MAX_SIZE } from './size.js';
import { notAFile, sniffFile } from './sniff.js';
import { type StoreOptions, warnDamage } from './stores.js';

/** A checkpoint to show, and where it came from. */
export interface Loaded {
  checkpoint: Checkpoint;
  origin: Origin;
  /** True when the file is a file store's snapshot or journal (read with its other half). */
  storeFiles?: boolean;
}

const CHECKPOINT_EXTENSION = /\.jsonl?$/i;

/**
 * Whether an argument of `show` names a file rather than a checkpoint id: a path that starts
 * with `/`, `./` or `../` (or is absolute otherwise), or ends in `.json` or `.jsonl`. Anything
 * else is an id, even when a file of that name exists, so that a file in the working directory
 * never shadows a checkpoint (ids such as `github:acme/pulls` hold slashes too).
 */
export function namesFile(target: string): boolean {
  return isAbsolute(target) || /^\.\.?[/\\]/.test(target) || CHECKPOINT_EXTENSION.test(target);
}

/**
 * Reads what `show` was given: a file (see {@link namesFile}; a file store snapshot or journal,
 * with its other half; or a JSON document in any format core reads), else a checkpoint id in
 * the store. Nothing is locked or written.
 */
export async function loadTarget(
  target: string,
  context: Context,
  options: StoreOptions,
  maxSize = DEFAULT_MAX_SIZE,
): Promise<Loaded> {
  const warn = (message: string) => context.out.warn(message);
  /** A folder is at the path: said if the store has no such id either. */
  let folder = false;
  if (namesFile(target)) {
    // Missing is for the store to decide (`x.json` may be an id); a loop of symbolic links or
    // an unreadable path is said as it is, not as "no file".
    const info = await stat(target).catch((error) => {
      if (isMissing(error)) return null;
      throw unreadable(target, error);
    });
    if (info?.isFile()) return loadFile(target, { warn, maxSize });
    if (info && !info.isDirectory()) throw notAFile(target, info);
    folder = info !== null;
    // A snapshot path whose checkpoint lives only in its journal so far (not compacted yet).
    const files = checkpointFilesOf(basename(target));
    if (files && (await isFile(join(dirname(target), files.journal)))) {
      return loadFile(target, { warn, maxSize });
    }
    // `./x` is no id anyone means; `x.json` may be one.
    if (!CHECKPOINT_EXTENSION.test(target)) {
      // A folder is there: "no file" (exit 3) would send the user looking for what is there.
      if (info) {
        throw new CliError(
          `${target} is a directory, not a checkpoint file (to list the checkpoints in it: checkpointkit ls ${shellWord(target)})`,
          EXIT.USAGE,
        );
      }
      throw new NotFoundError(`no file ${target}`);
    }
  }
  return withStore(context, options, async (handle) => {
    const checkpoint = await handle.read(target);
    if (!checkpoint) {
      // A folder named like a file (`progress.json`) is neither: "no file" would be wrong.
      if (folder) {
        throw new CliError(
          `${target} is a directory, not a checkpoint file, and no checkpoint "${target}" is in ${handle.description}`,
          EXIT.USAGE,
        );
      }
      if (namesFile(target)) {
        throw new NotFoundError(
          `no file ${target} and no checkpoint "${target}" in ${handle.description}`,
        );
      }
      if (await isFile(target)) {
        throw new NotFoundError(
          `${notFound(handle, target).message} (a file named ${target} is here: \`checkpointkit show ${shellWord(`./${target}`)}\` reads it)`,
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
 * document (default: what core derives from the document or its file name). Each file is looked
 * at first (see {@link sniffFile}): one over `maxSize` bytes, or binary, is refused unread.
 */
export async function loadFile(
  file: string,
  options: { id?: string; warn?: (message: string) => void; maxSize?: number } = {},
): Promise<Loaded> {
  const warn = options.warn ?? (() => {});
  const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
  const dir = dirname(file);
  const files = checkpointFilesOf(basename(file));
  if (files) {
    const snapshotFile = join(dir, files.snapshot);
    const journalFile = join(dir, files.journal);
    const snapshotHead = await sniffFile(snapshotFile, maxSize);
    await sniffFile(journalFile, maxSize);
    await sniffFile(join(dir, files.ack), maxSize);
    if (snapshotHead && isPlainDocument(snapshotHead)) {
      // A plain JSON document that only has the name of a snapshot: read it as such, once.
      if (snapshotFile === join(dir, basename(file))) {
        return parseDocument(await readTextFile(file), file, options.id);
      }
    } else {
      // In the store's order (the ack mark, the journal, then the snapshot) and read again when
      // a compaction or delete came between: a running job's files are never mixed up.
      const parsed = await readCheckpointFilesAt(snapshotFile);
      if (parsed) {
        const { checkpoint } = parsed;
        const lock = await readLockOwner(dir, checkpoint.id);
        warnDamage(parsed, journalFile, warn);
        return {
          checkpoint,
          origin: { source: file, format: 'checkpointkit/1, file store', lock },
          storeFiles: true,
        };
      }
    }
  }
  await sniffFile(file, maxSize);
  return parseDocument(await readTextFile(file), file, options.id);
}

function parseDocument(text: string, file: string, id: string | undefined): Loaded {
  const { format, checkpoint } = parseCheckpointJson(text, { file, id });
  return { checkpoint, origin: { source: file, format, lock: null } };
}

/** A snapshot (its first bytes) that is a plain JSON checkpoint document, not the store's envelope. */
function isPlainDocument(head: Buffer): boolean {
  return !/^\s*\{"format":"checkpointkit\/1","snapshot":/.test(head.toString('utf8'));
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
    throw unreadable(file, error);
  }
}

function unreadable(file: string, error: unknown): CliError {
  return new CliError(`cannot read ${file}: ${errorMessage(error)}`, EXIT.FAILURE, {
    cause: error,
  });
}

/** No such file, or a path through something that is not a folder. */
function isMissing(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
