/**
 * Runs a compaction's expensive half (read, replay, encode: seconds for a checkpoint of a
 * million units) in a worker thread, so the job's event loop, its heartbeats, lock refreshes and
 * signal handling go on meanwhile. The worker is started per compaction: compactions are rare
 * (every `compactAfter` bytes of journal) and a thread costs milliseconds against seconds.
 */
import { Worker } from 'node:worker_threads';
import type { PreparedCompaction } from './compact-prepare.js';
import type { CheckpointPaths } from './files.js';

/**
 * The prepared compaction from a worker thread; `undefined` when no worker could run it (no
 * worker file beside this module, as in a bundle): the caller then prepares it on its own thread,
 * which also reports any damage with the store's own typed errors.
 */
export async function prepareInWorker(
  at: CheckpointPaths,
): Promise<PreparedCompaction | null | undefined> {
  let worker: Worker;
  try {
    worker = startWorker(at);
  } catch {
    return undefined;
  }
  try {
    return await new Promise<PreparedCompaction | null | undefined>((resolve) => {
      worker.once('message', (message: PreparedCompaction | null) => resolve(message));
      worker.once('error', () => resolve(undefined));
      worker.once('exit', () => resolve(undefined));
    });
  } finally {
    await worker.terminate();
  }
}

function startWorker(at: CheckpointPaths): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    return new Worker(new URL('./compact-worker.js', here), { workerData: at });
  }
  // Running from the TypeScript sources (this repository's tests and tools, under tsx or
  // vitest): the worker loads its module through tsx, which those runs have installed.
  const entry = new URL('./compact-worker.ts', here).href;
  const code = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
  return new Worker(code, { eval: true, workerData: at });
}
