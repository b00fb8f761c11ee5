/**
 * Runs walk.ts in a worker thread, so that the walk neither waits on the extension host's busy
 * event loop nor blocks it. One thread per walk: walks happen at start, on Refresh and for folders
 * created in bulk, and a thread starts in tens of milliseconds.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as vscode from 'vscode';
import type { DiscoveryGlobs, DiscoveryPatterns } from './globs.js';
import type { WalkResult } from './walk.js';

/** What the worker is given (structured-cloned). */
export interface WalkRequest {
  root: string;
  start: string;
  globs: DiscoveryGlobs;
  limit: number;
}

/** The worker's bundle, beside the extension's (dist/). */
const WORKER_FILE = 'walk-worker.cjs';

/**
 * walkFiles of walk.ts, in a worker thread. Rejects when the thread cannot start or fails (the
 * caller searches another way); a cancelled walk ends its thread and resolves with nothing found.
 */
export function walkInThread(
  root: string,
  start: string,
  patterns: DiscoveryPatterns,
  limit: number,
  token?: vscode.CancellationToken,
): Promise<WalkResult> {
  const request: WalkRequest = { root, start, globs: patterns.globs, limit };
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, WORKER_FILE), { workerData: request });
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      cancel?.dispose();
      finish();
    };
    const cancel = token?.onCancellationRequested(() => {
      settle(() => resolve({ paths: [], truncated: false }));
      void worker.terminate();
    });
    worker.once('message', (result: WalkResult) => settle(() => resolve(result)));
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`the walk's worker thread exited with code ${code}`))),
    );
  });
}
