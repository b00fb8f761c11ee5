import type { LockOwner } from '../errors.js';
import type { Change } from '../model/changes.js';
import type { Checkpoint } from '../model/schema.js';
import type { CheckpointSummary } from '../model/summary.js';

/** A held checkpoint lock. Release it when the run ends; a store may take over a dead owner's lock. */
export interface CheckpointLock {
  readonly id: string;
  readonly owner: LockOwner;
  release(): Promise<void>;
}

export interface CheckpointListing {
  id: string;
  summary: CheckpointSummary;
}

/**
 * Where checkpoints live. A store persists change logs and gives back exactly the checkpoint that
 * {@link applyChange} computes from the changes it acknowledged. `@checkpointkit/core/testing`
 * checks every point of this contract; run it against any store you write.
 */
export interface CheckpointStore {
  /** Short description for messages, such as `file store at .checkpoints`. */
  readonly description: string;
  /** The checkpoint as of every acknowledged change, or null when there is none. */
  load(id: string): Promise<Checkpoint | null>;
  /**
   * Appends changes durably: once the promise resolves, they survive a crash. A log that does not
   * exist yet must start with a `created` change. Either all changes are acknowledged or none.
   */
  append(id: string, changes: readonly Change[]): Promise<void>;
  /** Folds the log into a snapshot. The loaded state does not change. */
  compact(id: string): Promise<void>;
  /** Every checkpoint in the store, with its summary. */
  list(): Promise<CheckpointListing[]>;
  /** Deletes a checkpoint with its log; false when there was none. */
  delete(id: string): Promise<boolean>;
  /**
   * Takes the checkpoint's exclusive lock, or rejects with {@link CheckpointLockedError} naming the
   * owner. The id need not exist yet.
   */
  lock(id: string): Promise<CheckpointLock>;
  /** Releases connections and handles. */
  close?(): Promise<void>;
}
