/**
 * Reads a checkpoint's files (see read-file.ts: Node's fs in `file:` folders, `workspace.fs`
 * elsewhere) and parses them with core and storage-file: a file store snapshot plus journal, or
 * a seed-format file recognised by its content.
 */
import {
  CheckpointFormatError,
  type LockOwner,
  parseCheckpointJson,
  summarize,
} from '@checkpointkit/core';
import {
  ACK_SUFFIX,
  checkSnapshotLength,
  JOURNAL_SUFFIX,
  parseCheckpointFiles,
  readLockOwner,
  SNAPSHOT_HEAD_BYTES,
  SNAPSHOT_SUFFIX,
  summarizeCheckpointFiles,
} from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { baseName, relativePath } from '../discovery/find.js';
import type { CheckpointFiles } from '../discovery/group-files.js';
import { type EntryState, loadedCheckpoint } from './entry.js';
import { readBytes } from './read-file.js';

/** How a file is named in messages: its path inside the workspace folder. */
export function displayName(folder: vscode.WorkspaceFolder, uri: vscode.Uri): string {
  return relativePath(folder, uri) ?? baseName(uri);
}

/** Who holds a file store checkpoint's lock; only `file:` folders have lock files we can check. */
export async function lockOwnerOf(dir: vscode.Uri, id: string | null): Promise<LockOwner | null> {
  if (dir.scheme !== 'file' || id === null) return null;
  try {
    return await readLockOwner(dir.fsPath, id);
  } catch {
    return null;
  }
}

/** A seed candidate whose content belongs to no checkpoint format is not a checkpoint: skip it quietly. */
function isNotACheckpoint(error: CheckpointFormatError): boolean {
  return /not a checkpoint: (none of its fields|expected a JSON object)/.test(error.message);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where the time of reads goes, summed over reads (the benchmark splits its figures with it). */
export interface ReadClock {
  /** Event-loop time spent parsing files into checkpoints, summaries and unit trees. */
  parseMs: number;
}

/**
 * Reads one checkpoint: a seed-format file, or a file store snapshot with its journal (both
 * looked for beside each other, and `files` updated to what exists). Never throws: damage is a
 * `damaged` state with the cause, a candidate that is no checkpoint an `ignored` one.
 */
export async function readCheckpointFiles(
  folder: vscode.WorkspaceFolder,
  files: CheckpointFiles<vscode.Uri>,
  clock: ReadClock,
): Promise<EntryState> {
  const timed = <T>(parse: () => T): T => {
    const start = performance.now();
    try {
      return parse();
    } finally {
      clock.parseMs += performance.now() - start;
    }
  };
  try {
    if (files.kind === 'seed') {
      const bytes = await readBytes(files.file, displayName(folder, files.file));
      if (bytes === null) return { kind: 'ignored' };
      let read: ReturnType<typeof parseCheckpointJson>;
      try {
        read = timed(() =>
          parseCheckpointJson(new TextDecoder().decode(bytes), {
            file: displayName(folder, files.file),
          }),
        );
      } catch (error) {
        if (error instanceof CheckpointFormatError && isNotACheckpoint(error))
          return { kind: 'ignored' };
        throw error;
      }
      // Seed files are one document: parsed whole above, so their units are built already.
      const { checkpoint, format } = read;
      const summary = timed(() => summarize(checkpoint));
      return {
        kind: 'loaded',
        value: loadedCheckpoint(
          { format, summary, lockOwner: null, tornTail: false, lost: null },
          () => checkpoint,
        ),
      };
    }
    // Both files of the stem, whichever events reported: a snapshot and its journal written
    // together may be reported one at a time, or (in a folder just created) not at all.
    const dir = vscode.Uri.joinPath((files.snapshot ?? files.journal)!, '..');
    const snapshotUri = vscode.Uri.joinPath(dir, files.stem + SNAPSHOT_SUFFIX);
    const journalUri = vscode.Uri.joinPath(dir, files.stem + JOURNAL_SUFFIX);
    const ackUri = vscode.Uri.joinPath(dir, files.stem + ACK_SUFFIX);
    const snapshotName = displayName(folder, snapshotUri);
    const journalName = displayName(folder, journalUri);
    // In the store's order: the acknowledgement mark, the journal, then the snapshot, so that a
    // compaction running meanwhile (it renames the new snapshot into place before it replaces
    // the journal) never pairs a newer journal with an older snapshot. A snapshot whose first
    // line or length shows damage is refused before it is read whole.
    const ack = await readBytes(ackUri, displayName(folder, ackUri));
    const journal = await readBytes(journalUri, journalName);
    const snapshot = await readBytes(snapshotUri, snapshotName, {
      bytes: SNAPSHOT_HEAD_BYTES,
      check: (head, size) => checkSnapshotLength(head, size, snapshotName),
    });
    if (snapshot === null && journal === null) return { kind: 'ignored' };
    files.snapshot = snapshot === null ? null : snapshotUri;
    files.journal = journal === null ? null : journalUri;
    // The row needs the summary only: counted from the snapshot's columns, without building
    // the units (most of the cost of a large checkpoint). They are built from the same bytes
    // when first needed; the files were checked as that will check them.
    const input = { snapshot, journal, file: snapshotName, journalFile: journalName, ack };
    const read = timed(() => summarizeCheckpointFiles(input));
    const lockOwner = await lockOwnerOf(dir, read.summary.id);
    return {
      kind: 'loaded',
      value: loadedCheckpoint(
        {
          format: 'checkpointkit/1',
          summary: read.summary,
          lockOwner,
          tornTail: read.tornTail !== null,
          lost: read.lost,
        },
        () => timed(() => parseCheckpointFiles(input).checkpoint),
      ),
    };
  } catch (error) {
    return { kind: 'damaged', message: message(error) };
  }
}
