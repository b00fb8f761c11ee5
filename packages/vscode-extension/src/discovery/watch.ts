/**
 * One narrow FileSystemWatcher for checkpoint files, their journals, lock folders and the files the
 * store keeps beside them (see WATCH_GLOB). Events are
 * collected and handed over in batches at most once per `intervalMs` (a journal that a running job
 * appends to many times a second gives a few batches a second, and one after its last write).
 *
 * VS Code reports a deleted folder once, not the files in it, so a narrow pattern never hears of
 * `rm -r .checkpoints`; and files copied into a new folder before the watcher has seen the folder
 * are not reported at all. A second watcher (no change events) hands over deleted folders that
 * hold checkpoints, and created paths outside the excludes, which the registry searches when they
 * are folders.
 */
import * as vscode from 'vscode';
import { Throttle } from '../util/throttle.js';
import { WATCH_GLOB } from './globs.js';
import { type FileEventKind, mergeEventKinds } from './merge-events.js';

export type { FileEventKind };

export interface FileEvent {
  kind: FileEventKind;
  uri: vscode.Uri;
}

export interface WatchOptions {
  /** Batch interval in milliseconds. */
  intervalMs?: number;
  /** True when a deleted path may hold checkpoints (a folder some checkpoint lives in). */
  holdsCheckpoints(uri: vscode.Uri): boolean;
  /** True when a created path is worth a look: not excluded (dependencies, files.exclude). */
  mayHoldCheckpoints(uri: vscode.Uri): boolean;
}

/** Watches {@link WATCH_GLOB} in every workspace folder, and deleted folders. */
export function watchCheckpointFiles(
  onBatch: (events: FileEvent[]) => void,
  options: WatchOptions,
): vscode.Disposable {
  const watcher = vscode.workspace.createFileSystemWatcher(WATCH_GLOB);
  const folders = vscode.workspace.createFileSystemWatcher('**/*', false, true, false);
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
  const narrowName = /checkpoint.*\.(json|jsonl|lock|ack|prev)$/;
  const narrow = (uri: vscode.Uri) =>
    narrowName.test(uri.path.slice(uri.path.lastIndexOf('/') + 1));
  const record = (kind: FileEventKind) => (uri: vscode.Uri) => {
    const key = uri.toString();
    const merged = mergeEventKinds(pending.get(key)?.kind, kind);
    pending.set(key, { kind: merged, uri });
    flush.request();
  };
  const subscriptions = [
    watcher,
    watcher.onDidCreate(record('created')),
    watcher.onDidChange(record('changed')),
    watcher.onDidDelete(record('deleted')),
    folders,
    folders.onDidDelete((uri) => {
      if (!narrow(uri) && options.holdsCheckpoints(uri)) record('deleted')(uri);
    }),
    folders.onDidCreate((uri) => {
      if (!narrow(uri) && options.mayHoldCheckpoints(uri)) record('appeared')(uri);
    }),
  ];
  return new vscode.Disposable(() => {
    flush.dispose();
    for (const subscription of subscriptions) subscription.dispose();
  });
}
