import type { Change, Unit } from '@checkpointkit/core';
import type pg from 'pg';
import { absent, assertExists, type Created, reset, writeCheckpoint } from './apply-checkpoint.js';
import { writeCounters, writeIdMaps } from './apply-maps.js';
import { writeUnits } from './apply-units.js';
import { encodeText } from './codec.js';
import type { Tables } from './tables.js';

/** The worker whose flushes these are, in worker mode: its leases are checked and renewed. */
export interface WorkerContext {
  id: string;
  leaseMs: number;
}

export interface ApplyOptions {
  /** Unique per flush: a retried flush that already committed is recognized by it. */
  batchId: string;
  worker: WorkerContext | null;
  /** The session to add this flush's counts to. */
  session: string | null;
  /**
   * What the run that holds the checkpoint is doing (`saving`), when one does: a checkpoint
   * missing then was deleted under it, a {@link CheckpointDeletedError}, not a log that lacks
   * its `created`.
   */
  held?: string;
}

export interface ApplyResult {
  /** Each unit the changes touched, as it is after them (absent when removed). */
  units: Map<string, Unit>;
  /** The message of the last unit failure among the changes. */
  lastFailure: string | null;
  /** Worker mode: units whose changes were left out, because they are no longer this worker's (`fence` in apply-units.ts). */
  dropped: string[];
}

/**
 * Applies a batch of changes to the tables inside the caller's transaction, with a fixed number
 * of statements whatever the batch size: the touched units are read (and locked) once, the
 * reducer computes their new state, and units, id maps, counters and the checkpoint row are
 * written with one multi-row statement each. Locks are taken in one order (units by key, then
 * id maps and counters sorted, then the checkpoint row), so concurrent flushes do not deadlock.
 */
export async function applyChanges(
  client: pg.ClientBase,
  t: Tables,
  id: string,
  changes: readonly Change[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  const cid = encodeText(id);
  const last = findLastIndex(changes, (change) => change.type === 'created');
  let rest: readonly Change[] = changes;
  let fresh = false;
  if (last >= 0) {
    if (last > 0) await assertExists(client, t, id, cid, options);
    await reset(client, t, cid, changes[last] as Created);
    rest = changes.slice(last + 1);
    fresh = true;
  }

  try {
    const units = await writeUnits(client, t, id, cid, rest, fresh, options);
    await writeIdMaps(client, t, cid, rest);
    await writeCounters(client, t, cid, rest);
    await writeCheckpoint(client, t, id, cid, rest, options, units);
    return { units: units.after, lastFailure: units.lastFailure, dropped: units.dropped };
  } catch (error) {
    if ((error as { code?: string }).code === '23503') throw absent(t, id, options, error);
    throw error;
  }
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}
