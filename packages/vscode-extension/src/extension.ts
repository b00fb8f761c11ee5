/**
 * Wiring: creates the registry, the tree view, the file watcher and the commands, and disposes
 * all of them with the extension. Activation is lazy (the view, or a workspace that contains
 * checkpoint files; see package.json).
 */
import * as vscode from 'vscode';
import type { CheckpointKitApi } from './api.js';
import { registerCommands } from './commands/register.js';
import { watchCheckpointFiles } from './discovery/watch.js';
import { affectsDiscovery, readSettings } from './settings.js';
import { loaded } from './state/entry.js';
import { CheckpointRegistry } from './state/registry.js';
import { CheckpointTreeProvider } from './tree/provider.js';
import { type Ui, windowUi } from './ui.js';

export const VIEW_ID = 'checkpointkit.checkpoints';

export function activate(context: vscode.ExtensionContext): CheckpointKitApi {
  const activatedAt = Date.now();
  const timings: CheckpointKitApi['timings'] = {
    activatedAt,
    listedMs: null,
    firstTreeMs: null,
  };
  let ui: Ui = windowUi;
  const log = vscode.window.createOutputChannel('CheckpointKit', { log: true });
  log.info(`activated, ${vscode.workspace.workspaceFolders?.length ?? 0} workspace folder(s)`);
  const registry = new CheckpointRegistry(log);
  const trusted = () => vscode.workspace.isTrusted;
  const provider = new CheckpointTreeProvider(
    registry,
    () => ({ trusted: trusted() }),
    () => readSettings().pageSize,
  );
  const view = vscode.window.createTreeView(VIEW_ID, {
    treeDataProvider: provider,
    showCollapseAll: true,
  });

  // The welcome view says "Looking for checkpoints…" until the first search is done.
  let scanned = false;
  const setScanned = () => {
    if (scanned) return;
    scanned = true;
    void vscode.commands.executeCommand('setContext', 'checkpointkit.scanned', true);
  };
  // Runs on every registry change, 200 times in a first scan of 200 checkpoints: counts without
  // sorting, and tells the view (a message to the workbench) only when the count changes.
  let failingShown = 0;
  const updateBadge = () => {
    let failing = 0;
    for (const entry of registry.entries()) {
      const value = loaded(entry);
      if (value && (value.summary.counts.failed > 0 || value.summary.status === 'failed'))
        failing += 1;
    }
    if (failing === failingShown) return;
    failingShown = failing;
    log.info(`badge: ${failing} checkpoint(s) with failed units`);
    view.badge =
      failing > 0
        ? {
            value: failing,
            tooltip: `${failing} checkpoint${failing === 1 ? '' : 's'} with failed units`,
          }
        : undefined;
  };

  context.subscriptions.push(
    registry,
    provider,
    view,
    registry.onDidChange(() => {
      if (timings.listedMs === null && registry.entries().length > 0)
        timings.listedMs = Date.now() - activatedAt;
      updateBadge();
      if (!registry.scanning) setScanned();
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!affectsDiscovery(event)) return;
      registry.clearPatterns();
      void registry.scan();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void registry.scan()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => provider.refreshAll()),
    watchCheckpointFiles((events) => registry.applyEvents(events), {
      holdsCheckpoints: (uri) => registry.holdsCheckpoints(uri),
      mayHoldCheckpoints: (uri) => registry.mayHoldCheckpoints(uri),
    }),
    registerCommands({ registry, provider, ui: () => ui, trusted }),
    // Last, so what is disposed before it can still write to it.
    log,
  );

  void registry
    .scan()
    .then(() => registry.whenIdle())
    .then(() => {
      timings.firstTreeMs = Date.now() - activatedAt;
    });

  return {
    registry,
    provider,
    view,
    timings,
    setUi(next) {
      const previous = ui;
      ui = next;
      return previous;
    },
    whenIdle: () => registry.whenIdle(),
  };
}

export function deactivate(): void {
  // Everything is in context.subscriptions, which VS Code disposes.
}
