/**
 * One narrow FileSystemWatcher for checkpoint files, their journals and lock folders. Events are
 * collected and handed over in batches at most once per `intervalMs` (a journal that a running job
 * appends to many times a second gives a few batches a second, and one after its last write).
 *
 * VS Code reports a deleted folder once, not the files in it, so a narrow pattern never hears of
 * `rm -r .checkpoints`. A second watcher takes deletions only (no creations, no changes) and hands
 * over those of folders that hold checkpoints.
 */
import * as vscode from 'vscode';
import { Throttle } from '../util/throttle.js';
import { WATCH_GLOB } from './globs.js';

export type FileEventKind = 'created' | 'changed' | 'deleted';

export interface FileEvent {
  kind: FileEventKind;
  uri: vscode.Uri;
}

export interface WatchOptions {
  /** Batch interval in milliseconds. */
  intervalMs?: number;
  /** True when a deleted path may hold checkpoints (a folder some checkpoint lives in). */
  holdsCheckpoints(uri: vscode.Uri): boolean;
}

/** Watches `**\/*checkpoint*.{json,jsonl,lock}` in every workspace folder, and deleted folders. */
export function watchCheckpointFiles(
  onBatch: (events: FileEvent[]) => void,
  options: WatchOptions,
): vscode.Disposable {
  const pattern = WATCH_GLOB.replace('{json,jsonl}', '{json,jsonl,lock}');
  const watcher = vscode.workspace.createFileSystemWatcher(pattern);
  const deletions = vscode.workspace.createFileSystemWatcher('**/*', true, true, false);
  let pending = new Map<string, FileEvent>();
  const flush = new Throttle(
    () => {
      const batch = [...pending.values()];
      pending = new Map();
      if (batch.length > 0) onBatch(batch);
    },
    options.intervalMs ?? 100,
    { leading: false },
  );
  const record = (kind: FileEventKind) => (uri: vscode.Uri) => {
    const key = uri.toString();
    const previous = pending.get(key);
    // created then changed stays created; anything then deleted is deleted; deleted then created is changed.
    const merged: FileEventKind =
      kind === 'deleted'
        ? 'deleted'
        : previous?.kind === 'created'
          ? 'created'
          : previous?.kind === 'deleted'
            ? 'changed'
            : kind;
    pending.set(key, { kind: merged, uri });
    flush.request();
  };
  const subscriptions = [
    watcher,
    watcher.onDidCreate(record('created')),
    watcher.onDidChange(record('changed')),
    watcher.onDidDelete(record('deleted')),
    deletions,
    deletions.onDidDelete((uri) => {
      if (options.holdsCheckpoints(uri)) record('deleted')(uri);
    }),
  ];
  return new vscode.Disposable(() => {
    flush.dispose();
    for (const subscription of subscriptions) subscription.dispose();
  });
}
