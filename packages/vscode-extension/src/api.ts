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
  /** Milliseconds from activation to the end of the first scan and reads (for the benchmark). */
  timings: { activatedAt: number; firstScanMs: number | null; firstTreeMs: number | null };
}
