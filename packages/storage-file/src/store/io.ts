import { randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  CheckpointFileError,
  checkReadableSize,
  checkRegularFile,
  describeNonFile,
} from '../format/errors.js';

/** A file's bytes with the identity of the inode they were read from, or null when it is absent. */
export interface FileRead {
  bytes: Buffer;
  dev: number;
  ino: number;
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * A look at a file before it is read whole: its first `bytes` and its size. Throws to refuse the
 * file unread (junk, or a length that shows damage).
 */
export interface FirstLook {
  /** How many of the file's first bytes `check` needs. */
  bytes: number;
  check(head: Uint8Array, size: number): void;
}

/** `O_NONBLOCK` where the platform has it (not on Windows, which has no named pipes in folders). */
const NON_BLOCKING = constants.O_NONBLOCK ?? 0;

/**
 * Reads a whole file through one handle, so bytes and identity belong to the same inode; null
 * when it is absent. A folder, a named pipe or device, or a file larger than one read can hold, is refused unread with
 * an error naming it (`name`, default the path); `look`, if given, sees the file's first bytes
 * first.
 */
export async function readWithIdentity(
  path: string,
  look?: FirstLook,
  name = path,
): Promise<FileRead | null> {
  let handle: FileHandle;
  try {
    // Non-blocking: a named pipe opened plainly waits for a writer, maybe for ever. Regular
    // files ignore the flag; anything that is not one is refused below.
    handle = await open(path, constants.O_RDONLY | NON_BLOCKING);
  } catch (error) {
    if (isMissing(error)) return null;
    throw await unopenable(path, name, error);
  }
  try {
    const stat = await handle.stat();
    // A folder opens like a file, and reading it fails with an error that names no file.
    checkRegularFile(name, stat);
    if (look) {
      const head = Buffer.alloc(Math.min(stat.size, look.bytes));
      // At position 0: a positioned read leaves the handle's own position where it was.
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      look.check(head.subarray(0, bytesRead), stat.size);
    }
    checkReadableSize(name, stat.size);
    const bytes = await handle.readFile();
    return { bytes, dev: stat.dev, ino: stat.ino };
  } finally {
    await handle.close();
  }
}

/**
 * The error for a path that could not be opened: Node's own for a socket (ENXIO) or a symbolic
 * link loop (ELOOP) says neither what the thing is nor that it was left alone, so those are
 * named, as a folder or a named pipe is; any other error as it came.
 */
async function unopenable(path: string, name: string, error: unknown): Promise<unknown> {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') {
    const reason = 'it is a symbolic link that leads back to itself; it was not read';
    return new CheckpointFileError(name, 'type', reason, undefined, { cause: error });
  }
  if (code === 'ENXIO') {
    const found = await stat(path).catch(() => null);
    if (found && !found.isFile()) {
      const reason = `it is ${describeNonFile(found)}, not a file; it was not read`;
      return new CheckpointFileError(name, 'type', reason, undefined, { cause: error });
    }
  }
  return error;
}

/** The bytes of a whole file, or null when it is absent; as {@link readWithIdentity}. */
export async function readOrNull(
  path: string,
  look?: FirstLook,
  name = path,
): Promise<Buffer | null> {
  return (await readWithIdentity(path, look, name))?.bytes ?? null;
}

/**
 * Reads one checkpoint file as the store does, for tools that read a checkpoint's files their
 * own way (an editor): null when it is absent; a folder, or a file over 2 GiB, is refused unread
 * with an error naming it as `name` (default the path); `look` sees the first bytes first, as
 * `checkSnapshotLength` does for a snapshot.
 */
export function readCheckpointFile(
  path: string,
  options: { name?: string; look?: FirstLook } = {},
): Promise<Buffer | null> {
  return readOrNull(path, options.look, options.name);
}

/**
 * fsyncs a directory, so that a rename or an unlink in it survives a crash (fsync of a file
 * does not make its directory entry durable). Windows cannot open a directory: skipped there.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, constants.O_RDONLY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (
      process.platform === 'win32' &&
      (code === 'EISDIR' || code === 'EPERM' || code === 'EACCES')
    )
      return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP') throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Replaces (or creates, with its directory) a file atomically and durably: a temp file beside it
 * (`<name>.<digits>`), every byte written, fsync, rename over the file, fsync of the directory. The temp file keeps the mode of
 * the file it replaces, and is removed when anything fails.
 *
 * Why not write-file-atomic (which the store used at first): it issues one write(2) and ignores
 * the count it returns. On a disk that fills up, write(2) first writes what fits and returns a
 * short count without an error, so a cut-short snapshot was fsynced and renamed over the good
 * one (test/integration/full-disk.test.ts showed it). Here a short write is followed by another
 * write, which then fails with ENOSPC (or EFBIG) before anything is renamed.
 */
export async function replaceFile(path: string, data: Buffer): Promise<void> {
  const temp = await writeTempFile(path, data);
  await commitTempFile(temp, path);
}

/**
 * The first half of {@link replaceFile}: writes every byte of `data` to a new temp file beside
 * `path` (with `path`'s mode) and fsyncs it. Returns the temp file's path; removes it on failure.
 */
export async function writeTempFile(path: string, data: Buffer): Promise<string> {
  await ensureDir(dirname(path));
  // Digits only: compaction recognises leftovers of a killed process by that shape.
  const temp = `${path}.${randomInt(1, 2 ** 47)}`;
  const mode = await stat(path).then(
    (existing) => existing.mode & 0o7777,
    (error: unknown) => {
      if (isMissing(error)) return undefined;
      throw error;
    },
  );
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await writeAll(handle, data, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  return temp;
}

/** The second half of {@link replaceFile}: renames the temp file over `path`, then fsyncs the directory. */
export async function commitTempFile(temp: string, path: string): Promise<void> {
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await fsyncDir(dirname(path));
}

/**
 * Writes all of `data` at `position` (null: at the end of an append-mode handle), writing again
 * after a short write: the next write then reports why (ENOSPC, EFBIG) instead of the data being
 * silently cut short.
 */
export async function writeAll(
  handle: FileHandle,
  data: Buffer,
  position: number | null,
): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const at = position === null ? null : position + offset;
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, at);
    if (bytesWritten === 0) {
      throw Object.assign(new Error('EIO: a write made no progress'), { code: 'EIO' });
    }
    offset += bytesWritten;
  }
}

/** Creates a directory (and its parents) and makes its entry durable. */
export async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined) await fsyncDir(dirname(created));
}
