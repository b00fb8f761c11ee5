/**
 * Edits go through storage-file's store and honour its lock: take the checkpoint's lock, do the
 * work, release it. A lock held by a running job refuses the edit with the owner's name.
 */
import { CheckpointLockedError, type CheckpointStore } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { type CheckpointEntry, primaryFile } from '../state/entry.js';
import { type Outcome, refused } from './context.js';
import { lockedMessage } from './guard.js';

/** The folder that holds an entry's files. */
export function entryDir(entry: CheckpointEntry): vscode.Uri {
  return vscode.Uri.joinPath(primaryFile(entry), '..');
}

/** Runs `work` with the file store of `dir` while holding the lock of checkpoint `id`. */
export async function withLockedStore(
  dir: vscode.Uri,
  id: string,
  work: (store: CheckpointStore) => Promise<Outcome>,
): Promise<Outcome> {
  const store = fileStore({ dir: dir.fsPath });
  let lock: Awaited<ReturnType<CheckpointStore['lock']>>;
  try {
    lock = await store.lock(id);
  } catch (error) {
    if (
      error instanceof CheckpointLockedError ||
      (error as Error)?.name === 'CheckpointLockedError'
    ) {
      return refused(lockedMessage(id, (error as CheckpointLockedError).owner ?? null));
    }
    throw error;
  }
  try {
    return await work(store);
  } finally {
    await lock.release();
    await store.close?.();
  }
}
