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
} from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { baseName, relativePath } from '../discovery/find.js';
import type { CheckpointFiles } from '../discovery/group-files.js';
import { UnitTree } from '../model/unit-tree.js';
import type { EntryState } from './entry.js';
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
      const { checkpoint, format } = read;
      const { summary, tree } = timed(() => ({
        summary: summarize(checkpoint),
        tree: UnitTree.of(checkpoint),
      }));
      return {
        kind: 'loaded',
        value: { checkpoint, format, summary, tree, lockOwner: null, tornTail: false, lost: null },
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
    const { parsed, summary, tree } = timed(() => {
      const parsed = parseCheckpointFiles({
        snapshot,
        journal,
        file: snapshotName,
        journalFile: journalName,
        ack,
      });
      return {
        parsed,
        summary: summarize(parsed.checkpoint),
        tree: UnitTree.of(parsed.checkpoint),
      };
    });
    const checkpoint = parsed.checkpoint;
    const lockOwner = await lockOwnerOf(dir, checkpoint.id);
    return {
      kind: 'loaded',
      value: {
        checkpoint,
        format: 'checkpointkit/1',
        summary,
        tree,
        lockOwner,
        tornTail: parsed.tornTail !== null,
        lost: parsed.lost,
      },
    };
  } catch (error) {
    return { kind: 'damaged', message: message(error) };
  }
}
