/**
 * Reads a file store checkpoint: its snapshot and journal, looked for beside each other whichever
 * file was found, with the ack mark. In `file:` folders through storage-file's own unlocked
 * reader, which reads them in the store's order, reads again when a job's compaction or delete
 * comes between two reads (else a running job's checkpoint showed as damaged for a moment: "the
 * journal continues snapshot batch N, but there is no snapshot"), tells a torn last line a live
 * job is still writing from a crash's, and refuses a checkpoint whose snapshot and journal were
 * removed by hand but left files behind. Other file systems through `workspace.fs`.
 */
import {
  ACK_SUFFIX,
  type CheckpointRead,
  checkSnapshotLength,
  JOURNAL_SUFFIX,
  PREVIOUS_SUFFIX,
  parseCheckpointFiles,
  readCheckpointFilesAt,
  SNAPSHOT_HEAD_BYTES,
  SNAPSHOT_SUFFIX,
} from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { anyFileOf, type CanonicalFiles } from '../discovery/group-files.js';
import { displayName } from './display-name.js';
import { exists, readBytes } from './read-file.js';

type StoreState = Pick<CheckpointRead, 'checkpoint' | 'tornTail' | 'lost' | 'writing'>;

/** What reading gave: the checkpoint, nothing at all, or the error, and whether only leftovers remain. */
export type StoreRead =
  | { kind: 'read'; read: StoreState }
  | { kind: 'none' }
  | { kind: 'failed'; error: unknown; leftoversOnly: boolean };

/** Reads the checkpoint of `files` and updates `files` to the files there are. */
export async function readStoreFiles(
  folder: vscode.WorkspaceFolder,
  files: CanonicalFiles<vscode.Uri>,
): Promise<StoreRead> {
  const dir = vscode.Uri.joinPath(anyFileOf(files), '..');
  const snapshotUri = vscode.Uri.joinPath(dir, files.stem + SNAPSHOT_SUFFIX);
  const journalUri = vscode.Uri.joinPath(dir, files.stem + JOURNAL_SUFFIX);
  let read: StoreState | null = null;
  let failure: { error: unknown } | null = null;
  try {
    read =
      dir.scheme === 'file'
        ? await readCheckpointFilesAt(snapshotUri.fsPath)
        : await readThroughWorkspace(folder, snapshotUri, journalUri, dir, files.stem);
  } catch (error) {
    failure = { error };
  }
  // Which files there are, for Open Raw and messages (a read gives the state, not its files).
  const [hasSnapshot, hasJournal] = await Promise.all([exists(snapshotUri), exists(journalUri)]);
  files.snapshot = hasSnapshot ? snapshotUri : null;
  files.journal = hasJournal ? journalUri : null;
  files.leftover =
    hasSnapshot || hasJournal ? files.leftover : await firstLeftover(dir, files.stem);
  // Removed right after it was read: keep a name to show until the events remove the entry.
  if ((read || failure) && !hasSnapshot && !hasJournal && !files.leftover)
    files.snapshot = snapshotUri;
  if (failure) {
    const leftoversOnly = !hasSnapshot && !hasJournal && files.leftover !== null;
    return { kind: 'failed', error: failure.error, leftoversOnly };
  }
  return read ? { kind: 'read', read } : { kind: 'none' };
}

/** The first of the files the store keeps beside a snapshot and journal that is there, or null. */
async function firstLeftover(dir: vscode.Uri, stem: string): Promise<vscode.Uri | null> {
  for (const name of [
    stem + SNAPSHOT_SUFFIX + PREVIOUS_SUFFIX,
    stem + JOURNAL_SUFFIX + PREVIOUS_SUFFIX,
    stem + ACK_SUFFIX,
  ]) {
    const uri = vscode.Uri.joinPath(dir, name);
    if (await exists(uri)) return uri;
  }
  return null;
}

/**
 * The store's reading order through `workspace.fs` (no retry: jobs write to the local disk): the
 * ack mark, the journal, then the snapshot, so that a compaction (it renames the new snapshot
 * into place before it replaces the journal) never pairs a newer journal with an older
 * snapshot. A snapshot whose first line or length shows damage is refused before it is used.
 */
async function readThroughWorkspace(
  folder: vscode.WorkspaceFolder,
  snapshotUri: vscode.Uri,
  journalUri: vscode.Uri,
  dir: vscode.Uri,
  stem: string,
): Promise<StoreState | null> {
  const snapshotName = displayName(folder, snapshotUri);
  const journalName = displayName(folder, journalUri);
  const ackUri = vscode.Uri.joinPath(dir, stem + ACK_SUFFIX);
  const ack = await readBytes(ackUri, displayName(folder, ackUri));
  const journal = await readBytes(journalUri, journalName);
  const snapshot = await readBytes(snapshotUri, snapshotName, {
    bytes: SNAPSHOT_HEAD_BYTES,
    check: (head, size) => checkSnapshotLength(head, size, snapshotName),
  });
  if (snapshot === null && journal === null) return null;
  const parsed = parseCheckpointFiles({
    snapshot,
    journal,
    file: snapshotName,
    journalFile: journalName,
    ack,
  });
  return { ...parsed, writing: null };
}
