import type { IdMapConflictError } from '../errors.js';
import type { Json, MappedId } from '../model/schema.js';
import type { CheckpointSummary } from '../model/summary.js';
import type { RateLimitInfo } from '../strategies/index.js';

export interface PendingOptions {
  /** Also return failed units: all of them (`true`) or only those whose error is retryable. */
  retryFailed?: boolean | 'retryable';
  /** Start from this key, in plan order: units planned before it are skipped (seed 003's --from-repo). */
  from?: string;
  /** Only units at or below this key path, such as `collect/acme`. */
  prefix?: string;
}

export interface ProgressUpdate {
  /** Where to continue after this step; stored as the unit's cursor. */
  cursor: Json;
  /** Items processed in this step, added to the unit's done count. */
  items?: number;
  /** The unit's total, when it becomes known. */
  total?: number | null;
  /** Id mappings produced by this step, recorded in the same flush as the cursor. */
  idMappings?: readonly IdMapping[];
  /** The latest rate limit, fed to the save strategy. */
  rateLimit?: RateLimitInfo;
  /** User metadata entries (`meta.user`) recorded in the same flush as the cursor (a sink's state). */
  meta?: Readonly<Record<string, Json>>;
}

export interface IdMapping {
  map: string;
  source: string;
  target: MappedId;
}

export type MapIdResult = { ok: true } | { ok: false; conflict: IdMapConflictError };

export interface FinishOptions {
  /** Delete the checkpoint when nothing failed. Defaults to the run's autoCleanup. */
  cleanup?: boolean;
}

export interface FinishResult {
  summary: CheckpointSummary;
  /** True when the checkpoint was deleted because the job completed with nothing failed. */
  deleted: boolean;
}

/** A run in worker mode: one of many processes that share a checkpoint (see `openRun`'s `worker`). */
export interface WorkerInfo {
  /** This worker's id, unique among the checkpoint's workers. */
  id: string;
  /** How long a claimed unit stays leased to this worker unless renewed. */
  leaseMs: number;
}

export interface ClaimOptions {
  /** Also claim failed units: all of them (`true`) or retryable ones. Default: none. */
  retryFailed?: boolean | 'retryable';
  /** Only failed units whose failure was recorded before this time (ISO 8601). */
  failedBefore?: string;
}

export interface Claim {
  /** Keys of the units now leased to this worker, their start recorded. */
  keys: string[];
  /** Unfinished units other workers hold under a live lease. */
  leasedElsewhere: number;
  /** When the earliest of those leases expires (ISO 8601), or null. */
  nextExpiry: string | null;
}
