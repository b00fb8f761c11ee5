/** One checkpoint found in the workspace: its files and what reading them gave. */
import type { Checkpoint, CheckpointSummary, DocumentFormat, LockOwner } from '@checkpointkit/core';
import type * as vscode from 'vscode';
import { anyFileOf, type CheckpointFiles } from '../discovery/group-files.js';
import type { UnitTree } from '../model/unit-tree.js';

/** A checkpoint read successfully. */
export interface LoadedCheckpoint {
  checkpoint: Checkpoint;
  summary: CheckpointSummary;
  format: DocumentFormat;
  tree: UnitTree;
  /** Who holds the file store lock (a running job); null when free or not a file store checkpoint. */
  lockOwner: LockOwner | null;
  /**
   * The journal ends in a partly written line, which reading ignored: a crash's leftovers, or,
   * while `lockOwner` holds the lock, most likely the save it is writing.
   */
  tornTail: boolean;
  /** Acknowledged journal batches the files no longer hold (cut or replaced), or null. */
  lost: { acked: number; found: number } | null;
}

export type EntryState =
  | { kind: 'loading' }
  | { kind: 'loaded'; value: LoadedCheckpoint }
  /** A checkpoint file that cannot be read: shown as an error node naming the cause, never rewritten. */
  | { kind: 'damaged'; message: string }
  /** A candidate file whose content is no checkpoint at all: not shown. */
  | { kind: 'ignored' };

export interface CheckpointEntry {
  /** Stable identity (folder and file name stem, or the seed file). */
  readonly key: string;
  readonly folder: vscode.WorkspaceFolder;
  files: CheckpointFiles<vscode.Uri>;
  state: EntryState;
}

/**
 * The file Open Raw shows and messages name: the snapshot, else the journal, else what they left
 * behind (see CanonicalFiles.leftover), else the seed file.
 */
export function primaryFile(entry: CheckpointEntry): vscode.Uri {
  const files = entry.files;
  return files.kind === 'seed' ? files.file : anyFileOf(files);
}

/** The checkpoint id: from the content when read, else from the file name. */
export function entryId(entry: CheckpointEntry): string | null {
  if (entry.state.kind === 'loaded') return entry.state.value.checkpoint.id;
  return entry.files.kind === 'canonical' ? entry.files.id : null;
}

export function loaded(entry: CheckpointEntry | undefined): LoadedCheckpoint | null {
  return entry?.state.kind === 'loaded' ? entry.state.value : null;
}
