import type { LockOwner } from '../errors.js';
import type { Change } from '../model/changes.js';
import type { Checkpoint, Unit } from '../model/schema.js';
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
  /**
   * Optional: throws a typed error naming the value and the limit when the store could never
   * save `change` (a key too long for its indexes, say). A run calls it before it records a
   * change, so a refused change never enters its buffer and cannot fail later flushes.
   */
  validateChange?(id: string, change: Change): void;
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
  /**
   * Worker mode (optional): joins the checkpoint as one of many workers that share it. The hold
   * excludes {@link CheckpointStore.lock} holders but not other workers. When the checkpoint does
   * not exist, `options.created` is appended first, atomically: of many workers starting
   * together exactly one creates it. Releasing the hold gives back the units the worker leased.
   */
  join?(id: string, options: JoinOptions): Promise<WorkerHold>;
  /**
   * Worker mode (optional): leases up to `request.limit` claimable units to a worker and records
   * their start (a `unit.started` change each, so attempts grow by one per claim), in one atomic
   * step: two workers never get the same unit. Claimable: pending units, in-progress units whose
   * lease expired (or that have none), and failed units as `retryFailed` and `failedBefore` say.
   * A worker's flushes renew its leases.
   */
  claimUnits?(id: string, request: ClaimRequest): Promise<ClaimResult>;
  /**
   * Optional: runs `work` in one store transaction. Changes given to `tx.append` are acknowledged
   * when the transaction commits, together with whatever `work` wrote through `tx.client`
   * (exactly-once for sinks that write into the same database). Rejects when it did not commit.
   * May call `work` again after a try that certainly did not commit (its connection broke): the
   * run takes back what the failed try recorded before each new call.
   *
   * A store signals that the run cannot go on by rejecting with an error that has
   * `storeUnavailable: true` (it gave up reaching its database, or the database refuses it for
   * good) or `outcomeUnknown: true` (it cannot tell whether it saved): `pipeline()` then stops
   * and rejects with that error instead of failing the unit it was working on.
   */
  transaction?<T>(id: string, work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
}

/** What {@link CheckpointStore.join} needs: who joins, for how long a lease lasts, and how to create. */
export interface JoinOptions {
  /** The worker's id, unique among the workers of a checkpoint. */
  worker: string;
  /** How long a claimed unit stays leased to this worker unless renewed. */
  leaseMs: number;
  /** The change that creates the checkpoint when it does not exist yet. */
  created: Extract<Change, { type: 'created' }>;
}

/** A worker's hold on a shared checkpoint. */
export interface WorkerHold extends CheckpointLock {
  /** True when this join created the checkpoint. */
  readonly created: boolean;
}

export interface ClaimRequest {
  /** The claiming worker's id (as given to {@link CheckpointStore.join}). */
  worker: string;
  /** Most units to claim; at least 1. */
  limit: number;
  /** How long the lease lasts unless renewed. */
  leaseMs: number;
  /** Also claim failed units: all of them (`true`) or retryable ones. Default: none. */
  retryFailed?: boolean | 'retryable';
  /** Only failed units whose failure was recorded before this time (ISO 8601), so a worker does not retry its own failures in a loop. */
  failedBefore?: string;
}

/** A unit leased to a worker, as it is after the claim recorded its start. */
export interface ClaimedUnit {
  key: string;
  unit: Unit;
}

export interface ClaimResult {
  units: ClaimedUnit[];
  /** Unfinished units that other workers hold under a live lease: they come back if their worker dies. */
  leasedElsewhere: number;
  /** When the earliest of those leases expires (ISO 8601), or null when there are none. */
  nextExpiry: string | null;
}

/** A store transaction in progress, as {@link CheckpointStore.transaction} hands it to `work`. */
export interface StoreTransaction {
  /** The store's handle on the transaction, such as a `pg` client for PostgreSQL. */
  readonly client: unknown;
  /**
   * Appends changes inside the transaction: they are acknowledged when it commits. In worker
   * mode a store leaves out the changes to units that are no longer this worker's (another
   * worker took them over after its lease expired, or finished them) and names those units in
   * `stale`: the run then refuses the transaction if its own work was on one of them, since the
   * rows it wrote for that unit must not commit.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store that names nothing resolves to nothing, as before
  append(changes: readonly Change[]): Promise<TransactionAppend | void>;
}

/** What {@link StoreTransaction.append} may tell about the changes it was given. */
export interface TransactionAppend {
  /** Units whose changes were left out: they are no longer this worker's. */
  stale?: readonly string[];
}
