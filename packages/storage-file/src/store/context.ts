import type { CheckpointPaths } from './files.js';
import type { HeldLock } from './lock.js';
import type { FileStoreWarning } from './types.js';
import type { JournalWriters } from './writer.js';

/** What the operations of one {@link fileStore} share: its directory, settings, writers and locks. */
export interface StoreContext {
  /** The absolute directory of the checkpoint files. */
  readonly dir: string;
  readonly staleMs: number;
  /** The journal size (bytes of changes) that triggers a compaction; undefined: the default. */
  readonly compactAfter: number | undefined;
  /** Snapshot plus journal bytes from which a compaction runs in a worker thread. */
  readonly compactInWorkerAbove: number;
  readonly warn: (warning: FileStoreWarning) => void;
  readonly writers: JournalWriters;
  /**
   * After a compaction failed (a full disk, say): the journal size, in bytes of changes, below
   * which no compaction is tried again, so a disk that stays full does not cost a snapshot
   * rewrite on every flush. Cleared when a compaction succeeds.
   */
  readonly compactRetryAt: Map<string, number>;
  /** The compaction running per checkpoint (one at a time; `close` waits for them). */
  readonly compactions: Map<string, Promise<void>>;
  /**
   * Counts, per checkpoint, the appends that failed and were cut back: a compaction prepared
   * before one may hold bytes the journal no longer has, and must not switch over.
   */
  readonly journalEpochs: Map<string, number>;
  /** Locks this store holds, by lock directory: it writes under them, and only under them or no lock. */
  readonly mine: Map<string, HeldLock>;
  paths(id: string): CheckpointPaths;
  /** Throws unless this store may write the checkpoint (no lock, or a lock of its own still held). */
  mayWrite(at: CheckpointPaths, id: string): Promise<void>;
  /** Runs `task` after every earlier task of the same checkpoint in this store. */
  serialize<T>(id: string, task: () => Promise<T>): Promise<T>;
}
