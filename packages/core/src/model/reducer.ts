import type { Change } from './changes.js';
import { own, setOwn } from './records.js';
import { CHECKPOINT_FORMAT, type Checkpoint, type Unit } from './schema.js';

/** A fresh checkpoint, as the `created` change makes it. */
export function emptyCheckpoint(id: string, at: string, configDigest: string | null): Checkpoint {
  return {
    format: CHECKPOINT_FORMAT,
    id,
    status: 'running',
    createdAt: at,
    updatedAt: at,
    configDigest,
    units: {},
    idMaps: {},
    stats: {},
    meta: { saveCount: 0, lastSaveReason: null, user: {} },
  };
}

export function emptyUnit(total: number | null = null): Unit {
  return {
    status: 'pending',
    attempts: 0,
    cursor: null,
    done: 0,
    total,
    startedAt: null,
    completedAt: null,
    error: null,
  };
}

function unitOf(checkpoint: Checkpoint, key: string): Unit {
  let unit = own(checkpoint.units, key);
  if (!unit) {
    unit = emptyUnit();
    setOwn(checkpoint.units, key, unit);
  }
  return unit;
}

/**
 * Applies one change to a checkpoint. Deterministic and free of I/O: the same changes applied to
 * the same state always give the same state. It updates `checkpoint` in place, because copying a
 * checkpoint of a million units for every change would make a change cost the size of the
 * history; {@link replay} gives the copy-first form.
 *
 * `created` replaces the whole state, so a log may start over after a reset. An `id.mapped` that
 * would give a mapped source id another target is ignored: the first mapping wins (runs report
 * such conflicts before they ever reach the log).
 */
export function applyChange(checkpoint: Checkpoint, change: Change): Checkpoint {
  if ('at' in change && change.at > checkpoint.updatedAt) checkpoint.updatedAt = change.at;
  switch (change.type) {
    case 'created':
      return Object.assign(checkpoint, emptyCheckpoint(change.id, change.at, change.configDigest));
    case 'status':
      checkpoint.status = change.status;
      break;
    case 'config':
      checkpoint.configDigest = change.configDigest;
      break;
    case 'unit.planned': {
      const unit = own(checkpoint.units, change.key);
      if (!unit) setOwn(checkpoint.units, change.key, emptyUnit(change.total ?? null));
      else if (change.total !== undefined) unit.total = change.total;
      break;
    }
    case 'unit.started': {
      const unit = unitOf(checkpoint, change.key);
      unit.status = 'in_progress';
      unit.attempts += 1;
      unit.startedAt = change.at;
      unit.completedAt = null;
      unit.error = null;
      break;
    }
    case 'unit.progressed': {
      const unit = unitOf(checkpoint, change.key);
      unit.cursor = change.cursor;
      unit.done = change.done;
      if (change.total !== undefined) unit.total = change.total;
      if (unit.status === 'pending') unit.status = 'in_progress';
      break;
    }
    case 'unit.completed': {
      const unit = unitOf(checkpoint, change.key);
      unit.status = 'complete';
      unit.completedAt = change.at;
      unit.error = null;
      if (change.cursor !== undefined) unit.cursor = change.cursor;
      if (change.done !== undefined) unit.done = change.done;
      break;
    }
    case 'unit.failed': {
      const unit = unitOf(checkpoint, change.key);
      unit.status = 'failed';
      unit.error = { message: change.message, retryable: change.retryable, at: change.at };
      if (change.cause) unit.error.cause = { ...change.cause };
      break;
    }
    case 'unit.reset': {
      const unit = unitOf(checkpoint, change.key);
      unit.status = 'pending';
      unit.error = null;
      unit.completedAt = null;
      if (!change.keepCursor) {
        unit.cursor = null;
        unit.done = 0;
        unit.startedAt = null;
      }
      break;
    }
    case 'unit.removed':
      delete checkpoint.units[change.key];
      break;
    case 'id.mapped': {
      let map = own(checkpoint.idMaps, change.map);
      if (!map) {
        map = {};
        setOwn(checkpoint.idMaps, change.map, map);
      }
      if (!Object.hasOwn(map, change.source)) setOwn(map, change.source, change.target);
      break;
    }
    case 'counter.added':
      setOwn(checkpoint.stats, change.name, (own(checkpoint.stats, change.name) ?? 0) + change.by);
      break;
    case 'meta.set':
      setOwn(checkpoint.meta.user, change.key, change.value);
      break;
    case 'saved':
      checkpoint.meta.saveCount += 1;
      checkpoint.meta.lastSaveReason = change.reason;
      break;
    default: {
      const unknown: never = change;
      throw new TypeError(`unknown change type ${JSON.stringify(unknown)}`);
    }
  }
  return checkpoint;
}

/** Applies changes in order to a copy of `base` (or to nothing: the log must then start with `created`). */
export function replay(base: Checkpoint | null, changes: Iterable<Change>): Checkpoint | null {
  let state = base ? structuredClone(base) : null;
  for (const change of changes) {
    if (!state) {
      if (change.type !== 'created') {
        throw new TypeError(
          `a change log without a checkpoint must start with "created", not "${change.type}"`,
        );
      }
      state = emptyCheckpoint(change.id, change.at, change.configDigest);
      continue;
    }
    applyChange(state, change);
  }
  return state;
}
