/**
 * The worker thread a large compaction runs in (see compact-thread.ts): it prepares the new
 * snapshot in a temp file and answers with its name.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { prepareCompaction } from './compact-prepare.js';
import type { CheckpointPaths } from './files.js';

parentPort!.postMessage(await prepareCompaction(workerData as CheckpointPaths));
