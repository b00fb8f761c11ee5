import type { Change, Checkpoint } from '@checkpointkit/core';
import { NotFoundError } from './errors.js';
import type { StoreHandle } from './stores.js';

/**
 * Changes a checkpoint under its lock: a checkpoint that a running job holds is never changed
 * (the store's `lock` rejects with CheckpointLockedError naming the owner). `plan` looks at the
 * locked, current state and returns the changes to append (none: nothing is written).
 */
export async function editCheckpoint<T>(
  handle: StoreHandle,
  id: string,
  plan: (checkpoint: Checkpoint) => { changes: Change[]; result: T },
): Promise<T> {
  await requireCheckpoint(handle, id);
  const lock = await handle.store.lock(id);
  try {
    const checkpoint = await handle.store.load(id);
    if (!checkpoint) throw notFound(handle, id);
    const { changes, result } = plan(checkpoint);
    if (changes.length > 0) await handle.store.append(id, changes);
    return result;
  } finally {
    await lock.release();
  }
}

/** The checkpoint, read without the lock, or a NotFoundError naming the store. */
export async function requireCheckpoint(handle: StoreHandle, id: string): Promise<Checkpoint> {
  const checkpoint = await handle.read(id);
  if (!checkpoint) throw notFound(handle, id);
  return checkpoint;
}

export function notFound(handle: StoreHandle, id: string): NotFoundError {
  return new NotFoundError(`no checkpoint "${id}" in ${handle.description}`);
}
