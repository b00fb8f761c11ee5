import { CheckpointError } from '../errors.js';
import type { Change } from '../model/changes.js';
import { own, setOwn } from '../model/records.js';
import type { Checkpoint, Json, Unit } from '../model/schema.js';

type Top = Pick<Checkpoint, 'status' | 'configDigest' | 'updatedAt'> & {
  saveCount: number;
  lastSaveReason: string | null;
};

/**
 * Remembers what changes applied during a store transaction overwrote, so a transaction that does
 * not commit can be taken back from the run's live state: a page whose rows were rolled back must
 * not keep its cursor. Keeps the first value seen of each part a change touches.
 */
export class UndoLog {
  readonly #top: Top;
  readonly #units = new Map<string, Unit | undefined>();
  readonly #mapped = new Map<string, Set<string>>();
  readonly #stats = new Map<string, number | undefined>();
  readonly #meta = new Map<string, Json | undefined>();

  constructor(state: Checkpoint) {
    this.#top = {
      status: state.status,
      configDigest: state.configDigest,
      updatedAt: state.updatedAt,
      saveCount: state.meta.saveCount,
      lastSaveReason: state.meta.lastSaveReason,
    };
  }

  /** Call before applying `change` to `state`. */
  before(state: Checkpoint, change: Change): void {
    switch (change.type) {
      case 'created':
        throw new CheckpointError('a checkpoint cannot be created again inside a transaction');
      case 'unit.planned':
      case 'unit.started':
      case 'unit.progressed':
      case 'unit.completed':
      case 'unit.failed':
      case 'unit.reset':
      case 'unit.removed': {
        if (this.#units.has(change.key)) return;
        const unit = own(state.units, change.key);
        this.#units.set(change.key, unit ? structuredClone(unit) : undefined);
        return;
      }
      case 'id.mapped': {
        if (
          own(state.idMaps, change.map) &&
          Object.hasOwn(state.idMaps[change.map]!, change.source)
        )
          return;
        let sources = this.#mapped.get(change.map);
        if (!sources) {
          sources = new Set();
          this.#mapped.set(change.map, sources);
        }
        sources.add(change.source);
        return;
      }
      case 'counter.added':
        if (!this.#stats.has(change.name)) this.#stats.set(change.name, state.stats[change.name]);
        return;
      case 'meta.set':
        if (!this.#meta.has(change.key)) {
          const value = state.meta.user[change.key];
          this.#meta.set(change.key, value === undefined ? undefined : structuredClone(value));
        }
        return;
      case 'status':
      case 'config':
      case 'saved':
        return;
    }
  }

  /** Puts back everything the changes seen by {@link before} overwrote. */
  restore(state: Checkpoint): void {
    state.status = this.#top.status;
    state.configDigest = this.#top.configDigest;
    state.updatedAt = this.#top.updatedAt;
    state.meta.saveCount = this.#top.saveCount;
    state.meta.lastSaveReason = this.#top.lastSaveReason;
    for (const [key, unit] of this.#units) {
      if (unit) setOwn(state.units, key, unit);
      else delete state.units[key];
    }
    for (const [map, sources] of this.#mapped) {
      const entries = own(state.idMaps, map);
      if (!entries) continue;
      for (const source of sources) delete entries[source];
      if (Object.keys(entries).length === 0) delete state.idMaps[map];
    }
    for (const [name, value] of this.#stats) {
      if (value === undefined) delete state.stats[name];
      else state.stats[name] = value;
    }
    for (const [key, value] of this.#meta) {
      if (value === undefined) delete state.meta.user[key];
      else state.meta.user[key] = value as Json;
    }
  }
}
