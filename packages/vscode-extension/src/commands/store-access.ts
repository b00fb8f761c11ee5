/**
 * Edits go through storage-file's store and honour its lock: take the checkpoint's lock, do the
 * work, release it. A lock held by a running job refuses the edit with the owner's name.
 */
import {
  CheckpointFormatError,
  CheckpointLockedError,
  type CheckpointStore,
} from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { type CheckpointEntry, primaryFile } from '../state/entry.js';
import { errorText } from '../state/error-text.js';
import { type Outcome, refused } from './context.js';
import { whyNotWritable } from './file-safety.js';
import { lockedMessage } from './guard.js';

/** The folder that holds an entry's files. */
export function entryDir(entry: CheckpointEntry): vscode.Uri {
  return vscode.Uri.joinPath(primaryFile(entry), '..');
}

function unsafe(id: string, why: string): Outcome {
  return refused(
    `CheckpointKit: "${id}" was not changed: ${why}. Edits write only regular files inside the workspace folder.`,
  );
}

/**
 * Runs `work` with the file store of the entry's folder while holding the lock of checkpoint
 * `id`. The files are checked (see file-safety.ts) before the lock is taken, so nothing is
 * written, not even the lock, where it must not be; and again under the lock, since they may have
 * changed while the user read the confirmation.
 */
export async function withLockedStore(
  entry: CheckpointEntry,
  id: string,
  work: (store: CheckpointStore) => Promise<Outcome>,
): Promise<Outcome> {
  const dir = entryDir(entry).fsPath;
  const root = entry.folder.uri.fsPath;
  const before = await whyNotWritable(root, dir, id);
  if (before) return unsafe(id, before);
  const store = fileStore({ dir });
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
    const now = await whyNotWritable(root, dir, id);
    if (now) return unsafe(id, now);
    return await work(store);
  } catch (error) {
    // Damaged since the view read it (the store refuses to build on it): nothing was written.
    if (error instanceof CheckpointFormatError) {
      return refused(
        `CheckpointKit: "${id}" was not changed: ${errorText(entry.folder, error)}. It is left as it is.`,
      );
    }
    throw error;
  } finally {
    await lock.release();
    await store.close?.();
  }
}
