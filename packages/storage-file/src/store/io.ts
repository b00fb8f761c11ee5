import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** A file's bytes with the identity of the inode they were read from, or null when it is absent. */
export interface FileRead {
  bytes: Buffer;
  dev: number;
  ino: number;
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Reads a whole file through one handle, so bytes and identity belong to the same inode. */
export async function readWithIdentity(path: string): Promise<FileRead | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  try {
    const stat = await handle.stat();
    const bytes = await handle.readFile();
    return { bytes, dev: stat.dev, ino: stat.ino };
  } finally {
    await handle.close();
  }
}

export async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/**
 * fsyncs a directory, so that a rename or an unlink in it survives a crash. write-file-atomic
 * fsyncs the file it writes, not the directory. Windows cannot open a directory: skipped there.
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

/** Replaces a file atomically and durably: temp file, fsync, rename (write-file-atomic), fsync of the directory. */
export async function replaceFile(path: string, data: Buffer): Promise<void> {
  await writeFileAtomic(path, data, { fsync: true });
  await fsyncDir(dirname(path));
}

/** Creates a directory (and its parents) and makes its entry durable. */
export async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined) await fsyncDir(dirname(created));
}

/** Writes all of `data` at the end of an append-mode handle. */
export async function appendAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}
