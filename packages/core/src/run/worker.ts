import { CheckpointError } from '../errors.js';
import { setOwn } from '../model/records.js';
import type { Checkpoint } from '../model/schema.js';
import type { CheckpointStore, ClaimRequest } from '../store/contract.js';
import type { Claim, ClaimOptions, WorkerInfo } from './types.js';

/** What a worker's claim works on: the run's store, checkpoint id, worker and live state. */
export interface ClaimTarget {
  store: CheckpointStore;
  id: string;
  worker: WorkerInfo | null;
  state: Checkpoint;
}

/**
 * Worker mode: leases up to `limit` claimable units to the worker (the store records their
 * start) and loads their current state into the run's live state.
 */
export async function claimUnits(
  { store, id, worker, state }: ClaimTarget,
  limit: number,
  options: ClaimOptions,
): Promise<Claim> {
  if (!worker || !store.claimUnits) {
    throw new CheckpointError(
      `claim needs worker mode: openRun({ worker }) on a store that has it`,
    );
  }
  const request: ClaimRequest = {
    worker: worker.id,
    limit,
    leaseMs: worker.leaseMs,
    ...(options.retryFailed !== undefined && { retryFailed: options.retryFailed }),
    ...(options.failedBefore !== undefined && { failedBefore: options.failedBefore }),
  };
  const result = await store.claimUnits(id, request);
  for (const { key, unit } of result.units) {
    setOwn(state.units, key, structuredClone(unit));
    if (unit.startedAt && unit.startedAt > state.updatedAt) state.updatedAt = unit.startedAt;
  }
  return {
    keys: result.units.map((claimed) => claimed.key),
    leasedElsewhere: result.leasedElsewhere,
    nextExpiry: result.nextExpiry,
  };
}

/** Whether a stored checkpoint exists and every unit of it is complete or failed: the job is done. */
export function isSettled(stored: Checkpoint | null): stored is Checkpoint {
  return (
    stored !== null &&
    Object.values(stored.units).every(
      (unit) => unit.status === 'complete' || unit.status === 'failed',
    )
  );
}
