/**
 * What `activate` returns: a small handle for the extension's own tests and the benchmark (and
 * for other extensions that want to wait for the tree). Not a stable public API.
 */
import type * as vscode from 'vscode';
import type { CheckpointRegistry } from './state/registry.js';
import type { TreeNode } from './tree/nodes.js';
import type { CheckpointTreeProvider } from './tree/provider.js';
import type { Ui } from './ui.js';

export interface CheckpointKitApi {
  registry: CheckpointRegistry;
  provider: CheckpointTreeProvider;
  view: vscode.TreeView<TreeNode>;
  /** Replaces the UI that commands use (messages, confirmations, quick picks); returns the previous one. */
  setUi(ui: Ui): Ui;
  /** Resolves once the first scan and every pending read are done. */
  whenIdle(): Promise<void>;
  /**
   * For the benchmark, in milliseconds from activation: `listedMs` when the first search listed
   * the checkpoints (rows shown, still reading), `firstTreeMs` when every checkpoint was read.
   */
  timings: { activatedAt: number; listedMs: number | null; firstTreeMs: number | null };
}
