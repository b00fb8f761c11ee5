import { CheckpointError } from '../errors.js';
import { isUnderPrefix } from '../model/keys.js';
import type { Checkpoint, Unit } from '../model/schema.js';
import type { PendingOptions } from './types.js';

/** Keys of the units still to do, in plan order (see `Run.pending`). */
export function pendingKeys(units: Checkpoint['units'], options: PendingOptions): string[] {
  const keys: string[] = [];
  let started = options.from === undefined;
  for (const [key, unit] of Object.entries(units)) {
    if (!started) {
      if (key !== options.from) continue;
      started = true;
    }
    if (options.prefix !== undefined && !isUnderPrefix(key, options.prefix)) continue;
    if (isPending(unit, options.retryFailed ?? false)) keys.push(key);
  }
  if (!started) throw new CheckpointError(`pending: no unit "${options.from}" to start from`);
  return keys;
}

function isPending(unit: Unit, retryFailed: boolean | 'retryable'): boolean {
  switch (unit.status) {
    case 'pending':
    case 'in_progress':
      return true;
    case 'failed':
      return (
        retryFailed === true || (retryFailed === 'retryable' && unit.error?.retryable === true)
      );
    case 'complete':
      return false;
  }
}
