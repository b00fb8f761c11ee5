/**
 * `@checkpointkit/storage-file`: the embedded default {@link CheckpointStore}. One snapshot and
 * one fsynced append-only journal per checkpoint, atomic compaction, cross-process locks.
 *
 * ```ts
 * import { openRun } from '@checkpointkit/core';
 * import { fileStore } from '@checkpointkit/storage-file';
 *
 * const run = await openRun({ id: 'github:acme/pulls', store: fileStore({ dir: '.checkpoints' }) });
 * ```
 */
export * from './format/index.js';
export {
  defaultCheckpointDir,
  type FileStore,
  type FileStoreOptions,
  type FileStoreWarning,
  fileStore,
} from './store/file-store.js';
export {
  type ExclusiveLock,
  type LockAttempt,
  type LockHolder,
  type TryLockOptions,
  tryLock,
} from './store/hold.js';
export { type FirstLook, readCheckpointFile } from './store/io.js';
export { DEFAULT_STALE_MS } from './store/lock.js';
export {
  type CheckpointRead,
  readCheckpointFiles,
  readCheckpointFilesAt,
  readLockOwner,
} from './store/readers.js';
export type { RepairReport } from './store/repair.js';
export { CheckpointWriteError } from './store/write-error.js';
