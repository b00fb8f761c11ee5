/**
 * Reads a checkpoint's files: a file store snapshot plus journal (read-store.ts), or a seed-format
 * file recognised by its content (read-file.ts: Node's fs in `file:` folders, `workspace.fs`
 * elsewhere), and builds what the view shows.
 */
import {
  CheckpointFormatError,
  type LockOwner,
  parseCheckpointJson,
  summarize,
} from '@checkpointkit/core';
import { CheckpointFileError, readLockOwner, SNAPSHOT_SUFFIX } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { relativePath } from '../discovery/find.js';
import { anyFileOf, type CheckpointFiles } from '../discovery/group-files.js';
import { UnitTree } from '../model/unit-tree.js';
import { displayName } from './display-name.js';
import type { EntryState } from './entry.js';
import { errorText } from './error-text.js';
import { isForeignJson, isNotACheckpoint } from './foreign-json.js';
import { readBytes } from './read-file.js';
import { readStoreFiles } from './read-store.js';

export { displayName };

/** Who holds a file store checkpoint's lock; only `file:` folders have lock files we can check. */
export async function lockOwnerOf(dir: vscode.Uri, id: string | null): Promise<LockOwner | null> {
  if (dir.scheme !== 'file' || id === null) return null;
  try {
    return await readLockOwner(dir.fsPath, id);
  } catch {
    return null;
  }
}

/** Where the time of reads goes, summed over reads (the benchmark splits its figures with it). */
export interface ReadClock {
  /**
   * Event-loop time spent parsing files into checkpoints, summaries and unit trees. In `file:`
   * folders storage-file's reader decodes the files between its reads: only the summaries and
   * unit trees are counted there.
   */
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
    const stored = await readStoreFiles(folder, files);
    if (stored.kind === 'none') return { kind: 'ignored' };
    if (stored.kind === 'failed') {
      const { error, leftoversOnly } = stored;
      if (await isOtherToolsFile(folder, files, error)) return { kind: 'ignored' };
      const message = errorText(folder, error);
      return {
        kind: 'damaged',
        message: leftoversOnly ? message + repairHint(folder, files) : message,
      };
    }
    const { checkpoint, tornTail, lost, writing } = stored.read;
    const { summary, tree } = timed(() => ({
      summary: summarize(checkpoint),
      tree: UnitTree.of(checkpoint),
    }));
    const lockOwner = await lockOwnerOf(vscode.Uri.joinPath(anyFileOf(files), '..'), checkpoint.id);
    return {
      kind: 'loaded',
      value: {
        checkpoint,
        format: 'checkpointkit/1',
        summary,
        tree,
        lockOwner,
        // A torn last line a live job is still writing is no crash's (storage-file's `writing`).
        tornTail: tornTail !== null && writing === null,
        lost,
      },
    };
  } catch (error) {
    return { kind: 'damaged', message: errorText(folder, error) };
  }
}

/**
 * What to run for a checkpoint whose snapshot and journal were removed by hand, leaving files
 * the store refuses to start anew over: the CLI's repair and rm reach such a checkpoint.
 */
function repairHint(
  folder: vscode.WorkspaceFolder,
  files: CheckpointFiles<vscode.Uri> & { kind: 'canonical' },
): string {
  const word = (text: string) =>
    /^[\w.:/@-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
  const dir = relativePath(folder, vscode.Uri.joinPath(anyFileOf(files), '..')) || '.';
  const args = `${files.id === null ? '<id>' : word(files.id)} --dir ${word(dir)}`;
  return `. In a terminal in ${folder.name}: \`checkpointkit repair ${args}\` recovers the checkpoint from them, \`checkpointkit rm ${args}\` removes them to start anew.`;
}

/** A snapshot whose first line is no snapshot's, which is another tool's JSON (foreign-json.ts). */
async function isOtherToolsFile(
  folder: vscode.WorkspaceFolder,
  files: CheckpointFiles<vscode.Uri> & { kind: 'canonical' },
  error: unknown,
): Promise<boolean> {
  if (!(error instanceof CheckpointFileError) || error.line !== 1) return false;
  if (error.kind !== 'json' && error.kind !== 'schema') return false;
  const name = files.stem + SNAPSHOT_SUFFIX;
  if (!error.file?.endsWith(name)) return false;
  const snapshot = vscode.Uri.joinPath(anyFileOf(files), '..', name);
  return isForeignJson(snapshot, files.stem, displayName(folder, snapshot));
}
