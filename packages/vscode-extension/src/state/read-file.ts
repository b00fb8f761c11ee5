/**
 * A checkpoint file's bytes. In a `file:` folder through Node's fs, which can look at a file's
 * size and first bytes before reading it whole, so a junk file of gigabytes with a snapshot's
 * name is refused unread (`workspace.fs` can only read whole files, and failed over 2 GiB with an
 * error that named none); it also read the benchmark's 200 small checkpoints in about half the
 * time. Other schemes (virtual file systems) go through `workspace.fs`.
 */
import { open } from 'node:fs/promises';
import { checkReadableSize } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';

/** A look at a file before it is read whole: throws to refuse it unread. */
export interface FirstLook {
  /** How many of the file's first bytes `check` needs. */
  bytes: number;
  check(head: Uint8Array, size: number): void;
}

/**
 * The bytes of `uri`, or null when it does not exist (a journal not written yet, a file just
 * deleted). `name` is how errors name the file. Files over 2 GiB are refused unread with a
 * `CheckpointFileError` of kind `size`.
 */
export async function readBytes(
  uri: vscode.Uri | null,
  name: string,
  look?: FirstLook,
): Promise<Uint8Array | null> {
  if (!uri) return null;
  if (uri.scheme === 'file') return readLocal(uri.fsPath, name, look);
  let bytes: Uint8Array;
  try {
    bytes = await vscode.workspace.fs.readFile(uri);
  } catch (error) {
    if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') return null;
    throw error;
  }
  look?.check(bytes.subarray(0, look.bytes), bytes.length);
  return bytes;
}

async function readLocal(path: string, name: string, look?: FirstLook): Promise<Uint8Array | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = await handle.stat();
    // A folder opens like a file, and reading it fails with an error that names no file.
    if (!stat.isFile()) throw new Error(`${name} is not a file`);
    const { size } = stat;
    if (look) {
      const head = new Uint8Array(Math.min(size, look.bytes));
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      look.check(head.subarray(0, bytesRead), size);
    }
    checkReadableSize(name, size);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
