/**
 * Show Summary's webview: one panel per checkpoint, re-rendered when the checkpoint changes (a
 * running job's progress moves the bars), closed when the checkpoint goes away.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { summaryHtml } from '../model/summary-html.js';
import { type CheckpointEntry, loaded, primaryFile } from '../state/entry.js';
import { displayName } from '../state/read-entry.js';
import type { CheckpointRegistry } from '../state/registry.js';

export class SummaryPanels implements vscode.Disposable {
  readonly #panels = new Map<string, vscode.WebviewPanel>();
  readonly #subscription: vscode.Disposable;

  constructor(registry: CheckpointRegistry) {
    this.#subscription = registry.onDidChange((change) => {
      const keys =
        change.kind === 'all' ? [...this.#panels.keys()] : change.entries.map((entry) => entry.key);
      for (const key of keys) {
        const panel = this.#panels.get(key);
        const entry = registry.get(key);
        if (!panel) continue;
        if (!entry || !loaded(entry)) panel.dispose();
        else this.#render(panel, entry);
      }
    });
  }

  /** Opens (or reveals) the panel of a read checkpoint; returns the HTML shown. */
  show(entry: CheckpointEntry): string {
    let panel = this.#panels.get(entry.key);
    if (panel) panel.reveal();
    else {
      panel = vscode.window.createWebviewPanel(
        'checkpointkit.summary',
        'Checkpoint summary',
        vscode.ViewColumn.Active,
        {
          enableScripts: false,
          localResourceRoots: [],
        },
      );
      this.#panels.set(entry.key, panel);
      panel.onDidDispose(() => this.#panels.delete(entry.key));
    }
    return this.#render(panel, entry);
  }

  #render(panel: vscode.WebviewPanel, entry: CheckpointEntry): string {
    const value = loaded(entry);
    if (!value) return panel.webview.html;
    panel.title = `Summary: ${value.checkpoint.id}`;
    const html = summaryHtml(value.checkpoint, value.summary, {
      file: displayName(entry.folder, primaryFile(entry)),
      format: value.format,
      cspSource: panel.webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
    });
    panel.webview.html = html;
    return html;
  }

  dispose(): void {
    this.#subscription.dispose();
    for (const panel of this.#panels.values()) panel.dispose();
    this.#panels.clear();
  }
}
