/** Checkpoints for the unit tests, built with core's reducer so they are always valid. */
import { type Change, type Checkpoint, replay } from '@checkpointkit/core';

export const T0 = '2026-01-02T03:04:05.000Z';

/** A checkpoint with the given units: `key -> status` (failed units get an error). */
export function checkpointWith(
  id: string,
  units: Record<string, 'pending' | 'in_progress' | 'complete' | 'failed'>,
): Checkpoint {
  const changes: Change[] = [{ type: 'created', at: T0, id, configDigest: null }];
  for (const [key, status] of Object.entries(units)) {
    changes.push({ type: 'unit.planned', at: T0, key, total: 10 });
    if (status === 'pending') continue;
    changes.push({ type: 'unit.started', at: T0, key });
    changes.push({ type: 'unit.progressed', at: T0, key, cursor: { page: 3 }, done: 3 });
    if (status === 'complete') changes.push({ type: 'unit.completed', at: T0, key, done: 10 });
    if (status === 'failed')
      changes.push({
        type: 'unit.failed',
        at: T0,
        key,
        message: `HTTP 502 on ${key}`,
        retryable: true,
      });
  }
  return replay(null, changes)!;
}

/** `count` flat units named `unit-00000`..., every `failEvery`-th failed. */
export function bigCheckpoint(count: number, failEvery = 0): Checkpoint {
  const units: Record<string, 'pending' | 'complete' | 'failed'> = {};
  for (let i = 0; i < count; i++) {
    units[`unit-${String(i).padStart(6, '0')}`] =
      failEvery > 0 && i % failEvery === 0 ? 'failed' : 'complete';
  }
  return checkpointWith('big', units);
}
