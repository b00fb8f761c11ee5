/**
 * A checkpoint file's bytes. In a `file:` folder as the file store reads them (Node's fs), which
 * looks at a file's size and first bytes before reading it whole, so a junk file of gigabytes
 * with a snapshot's name is refused unread (`workspace.fs` can only read whole files, and failed
 * over 2 GiB with an error that named none); it also read the benchmark's 200 small checkpoints
 * in about half the time. Other schemes (virtual file systems) go through `workspace.fs`.
 */
import { lstat } from 'node:fs/promises';
import { type FirstLook, readCheckpointFile } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';

/** Whether something (a file, a folder, a link) is at `uri`. */
export async function exists(uri: vscode.Uri): Promise<boolean> {
  if (uri.scheme === 'file') {
    return lstat(uri.fsPath).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
    );
  }
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch (error) {
    if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') return false;
    throw error;
  }
}

/**
 * The bytes of `uri`, or null when it does not exist (a journal not written yet, a file just
 * deleted). `name` is how errors name the file. `look` sees the first bytes before the whole
 * file is read (in `file:` folders) or used.
 */
export async function readBytes(
  uri: vscode.Uri | null,
  name: string,
  look?: FirstLook,
): Promise<Uint8Array | null> {
  if (!uri) return null;
  if (uri.scheme === 'file') return readCheckpointFile(uri.fsPath, { name, ...(look && { look }) });
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
