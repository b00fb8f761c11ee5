/**
 * The walk's worker thread (bundled to dist/walk-worker.cjs): walks the folder it is given and
 * posts the result back once (see walk-thread.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { patternsOfGlobs } from './globs.js';
import { walkFiles } from './walk.js';
import type { WalkRequest } from './walk-thread.js';

const { root, start, globs, limit } = workerData as WalkRequest;
parentPort!.postMessage(walkFiles(root, start, patternsOfGlobs(globs), limit));
