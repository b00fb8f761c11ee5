/** One checkpoint found in the workspace: its files and what reading them gave. */
import type { Checkpoint, CheckpointSummary, DocumentFormat, LockOwner } from '@checkpointkit/core';
import type * as vscode from 'vscode';
import type { CheckpointFiles } from '../discovery/group-files.js';
import { UnitTree } from '../model/unit-tree.js';

/**
 * A checkpoint read successfully. Its row needs only the summary; the units (`checkpoint`,
 * `tree`) of a file store checkpoint are built from the bytes read when first asked for, so that
 * a tree of many large checkpoints shows its rows without building their units.
 */
export interface LoadedCheckpoint {
  readonly checkpoint: Checkpoint;
  summary: CheckpointSummary;
  format: DocumentFormat;
  readonly tree: UnitTree;
  /** True once `checkpoint` was built (asking for it costs nothing then). */
  readonly built: boolean;
  /** Who holds the file store lock (a running job); null when free or not a file store checkpoint. */
  lockOwner: LockOwner | null;
  /** The journal ends in a partly written line, which reading ignored. */
  tornTail: boolean;
  /** Acknowledged journal batches the files no longer hold (cut or replaced), or null. */
  lost: { acked: number; found: number } | null;
}

/**
 * A {@link LoadedCheckpoint} whose checkpoint `build` makes when first asked for (once; what
 * `build` holds is let go then).
 */
export function loadedCheckpoint(
  fields: Omit<LoadedCheckpoint, 'checkpoint' | 'tree' | 'built'>,
  build: () => Checkpoint,
): LoadedCheckpoint {
  let make: (() => Checkpoint) | null = build;
  let checkpoint: Checkpoint | null = null;
  let tree: UnitTree | null = null;
  return {
    ...fields,
    get checkpoint() {
      if (checkpoint === null) {
        checkpoint = make!();
        make = null;
      }
      return checkpoint;
    },
    get tree() {
      tree ??= UnitTree.of(this.checkpoint);
      return tree;
    },
    get built() {
      return checkpoint !== null;
    },
  };
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

/** The file Open Raw shows and messages name: the snapshot, else the journal, else the seed file. */
export function primaryFile(entry: CheckpointEntry): vscode.Uri {
  const files = entry.files;
  return files.kind === 'seed' ? files.file : (files.snapshot ?? files.journal)!;
}

/** The checkpoint id: from the content when read, else from the file name. */
export function entryId(entry: CheckpointEntry): string | null {
  if (entry.state.kind === 'loaded') return entry.state.value.summary.id;
  return entry.files.kind === 'canonical' ? entry.files.id : null;
}

export function loaded(entry: CheckpointEntry | undefined): LoadedCheckpoint | null {
  return entry?.state.kind === 'loaded' ? entry.state.value : null;
}
