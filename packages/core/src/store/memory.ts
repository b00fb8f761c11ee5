import { CheckpointError, CheckpointLockedError, type LockOwner } from '../errors.js';
import type { Change } from '../model/changes.js';
import { replay } from '../model/reducer.js';
import type { Checkpoint } from '../model/schema.js';
import { summarize } from '../model/summary.js';
import type { CheckpointListing, CheckpointLock, CheckpointStore } from './contract.js';

interface Entry {
  snapshot: Checkpoint | null;
  log: Change[];
}

/** Shared state behind memory stores: two stores over one `MemoryStorage` see the same data. */
export class MemoryStorage {
  readonly entries = new Map<string, Entry>();
  readonly locks = new Map<string, LockOwner>();
}

/**
 * A store that keeps checkpoints in memory: for tests, and for jobs that only need resume within
 * one process. Changes are copied on append, so later edits by the caller cannot reach it.
 */
export function memoryStore(storage: MemoryStorage = new MemoryStorage()): CheckpointStore & {
  readonly storage: MemoryStorage;
} {
  return {
    description: 'memory store',
    storage,
    async load(id) {
      const entry = storage.entries.get(id);
      return entry ? replay(entry.snapshot, entry.log) : null;
    },
    async append(id, changes) {
      const entry = storage.entries.get(id);
      if (!entry && changes[0]?.type !== 'created') {
        throw new CheckpointError(
          `checkpoint "${id}" does not exist; its log must start with "created"`,
        );
      }
      const copies = structuredClone(changes) as Change[];
      if (entry) for (const change of copies) entry.log.push(change);
      else storage.entries.set(id, { snapshot: null, log: copies });
    },
    async compact(id) {
      const entry = storage.entries.get(id);
      if (!entry) return;
      entry.snapshot = replay(entry.snapshot, entry.log);
      entry.log = [];
    },
    async list() {
      const listings: CheckpointListing[] = [];
      for (const [id, entry] of storage.entries) {
        const checkpoint = replay(entry.snapshot, entry.log);
        if (checkpoint) listings.push({ id, summary: summarize(checkpoint) });
      }
      return listings;
    },
    async delete(id) {
      return storage.entries.delete(id);
    },
    async lock(id): Promise<CheckpointLock> {
      const held = storage.locks.get(id);
      if (held) throw new CheckpointLockedError(id, held);
      const owner: LockOwner = {
        pid: globalThis.process?.pid ?? 0,
        host: 'memory',
        since: new Date().toISOString(),
      };
      storage.locks.set(id, owner);
      let released = false;
      return {
        id,
        owner,
        async release() {
          if (released) return;
          released = true;
          if (storage.locks.get(id) === owner) storage.locks.delete(id);
        },
      };
    },
  };
}
