import type { CheckpointStore } from '@checkpointkit/core';
import type { RepairReport } from './repair.js';

export interface FileStoreOptions {
  /**
   * The directory of the checkpoint files. Default: `CHECKPOINT_DIR`, else `.checkpoints`. A
   * `dir` that starts with `~` is refused (Node expands no `~`), as is a `CHECKPOINT_DIR` that ends
   * with a carriage return, starts or ends with a space, is wrapped in quotes or starts with `~`.
   */
  dir?: string;
  /**
   * A lock not kept fresh for this long (ms) is abandoned and may be taken over. Default 30,000;
   * at least 2,000. A lock whose owner is a dead process on this host is taken over at once.
   */
  staleMs?: number;
  /**
   * Compact when the journal holds this many bytes of changes. Default: 1 MiB, or a quarter of
   * the snapshot when that is more, so compaction costs a bounded share of the writing.
   */
  compactAfter?: number;
  /**
   * A compaction of a checkpoint whose snapshot and journal hold this many bytes or more reads,
   * replays and encodes them in a worker thread, so the job's event loop (its flushes, lock
   * refreshes, heartbeats and signal handling) is not blocked for the seconds a checkpoint of a
   * million units takes. Default 1 MiB; `Infinity` keeps every compaction on the calling thread.
   */
  compactInWorkerAbove?: number;
  /** Where warnings go (a torn journal tail dropped, a failed background compaction). Default: `process.emitWarning`. */
  onWarning?: (warning: FileStoreWarning) => void;
}

export interface FileStoreWarning {
  code: 'torn-tail' | 'lost-batches' | 'compaction-failed' | 'unreadable-checkpoint';
  message: string;
  checkpointId?: string;
  file?: string;
}

/** The file store: a {@link CheckpointStore} with its directory and an explicit repair. */
export interface FileStore extends CheckpointStore {
  /** The absolute directory of the checkpoint files. */
  readonly dir: string;
  /**
   * Moves damaged files of a checkpoint aside as `<name>.corrupt-<time>` and writes back the
   * state that every valid change gives. Takes the lock (or uses this process's). Refuses files
   * of an unknown format version, which a newer version of this package can read.
   */
  repair(id: string): Promise<RepairReport>;
  /** Waits for pending writes and compactions, closes journal handles and releases this store's locks. */
  close(): Promise<void>;
}
