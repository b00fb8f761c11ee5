import { applyChange, type Change, emptyCheckpoint, type Unit } from '@checkpointkit/core';
import type pg from 'pg';
import type { ApplyOptions } from './apply.js';
import { encodeText, ownKey, setKey } from './codec.js';
import { keyFromRow } from './rows.js';
import type { Tables } from './tables.js';
import { assertUnitsIntact } from './unit-count.js';
import { type LoadedUnit, lockUnits, UnitArrays, writeUnitRows } from './unit-rows.js';

type UnitChange = Extract<Change, { key: string; at: string }>;

const UNIT_CHANGES = new Set<Change['type']>([
  'unit.planned',
  'unit.started',
  'unit.progressed',
  'unit.completed',
  'unit.failed',
  'unit.reset',
  'unit.removed',
]);

const isUnitChange = (change: Change): change is UnitChange => UNIT_CHANGES.has(change.type);

/** Changes that work on a unit, whose row must be there unless the batch plans it. */
const WORK = new Set<Change['type']>([
  'unit.started',
  'unit.progressed',
  'unit.completed',
  'unit.failed',
  'unit.reset',
]);

export interface UnitsWritten {
  after: Map<string, Unit>;
  dropped: string[];
  lastFailure: string | null;
  completed: number;
  failed: number;
  items: number;
  /** Units rows inserted minus those deleted: what the checkpoint's unit_count changes by. */
  delta: number;
}

/**
 * Applies the unit changes of a flush: reads and locks the units they touch (none when the
 * checkpoint was just created), leaves out plans that change nothing and, in worker mode, the
 * changes to units another worker took over; runs the reducer on them, and deletes, updates and
 * inserts their rows. Counts what the session is credited with.
 */
export async function writeUnits(
  client: pg.ClientBase,
  t: Tables,
  id: string,
  cid: string,
  changes: readonly Change[],
  fresh: boolean,
  options: ApplyOptions,
): Promise<UnitsWritten> {
  const written: UnitsWritten = {
    after: new Map(),
    dropped: [],
    lastFailure: null,
    completed: 0,
    failed: 0,
    items: 0,
    delta: 0,
  };
  // A run's finish or close records its status: the units it leaves must all be there (see
  // unit-count.ts). A batch that starts the checkpoint over (fresh) has just set the count.
  let checked = false;
  if (!fresh && options.held !== undefined && changes.some((change) => change.type === 'status')) {
    await assertUnitsIntact(client, t, id, cid, options.held);
    checked = true;
  }
  let unitChanges = changes.filter(isUnitChange);
  if (!fresh) unitChanges = await dropKnownPlans(client, t, cid, unitChanges);
  if (unitChanges.length === 0) return written;
  let keys = [...new Set(unitChanges.map((change) => change.key))];

  const loaded = fresh ? new Map<string, LoadedUnit>() : await lockUnits(client, t, cid, keys);
  const fenced = fence(loaded, unitChanges, options);
  if (fenced.size > 0) {
    unitChanges = unitChanges.filter((change) => !fenced.has(change.key));
    keys = keys.filter((key) => !fenced.has(key));
    for (const key of fenced) loaded.delete(key);
    written.dropped = [...fenced];
  }
  if (!fresh && !checked && options.held !== undefined) {
    // Work on a unit whose row is missing, and that this batch does not plan: it was planned
    // before, so its row was deleted, unless the job works on units it never planned.
    // (Every flush passes here: the plans are looked at only when a row is missing.)
    const missing = unitChanges.filter((c) => WORK.has(c.type) && !loaded.has(c.key));
    if (missing.length > 0) {
      const planned = new Set(
        unitChanges.filter((c) => c.type === 'unit.planned').map((c) => c.key),
      );
      if (missing.some((c) => !planned.has(c.key)))
        await assertUnitsIntact(client, t, id, cid, options.held);
    }
  }
  const mini = emptyCheckpoint(id, '', null);
  // The loaded units are fresh objects: the reducer may change them in place.
  const doneBefore = new Map<string, number>();
  for (const [key, { unit }] of loaded) {
    setKey(mini.units, key, unit);
    doneBefore.set(key, unit.done);
  }
  const created: string[] = [];
  const removed = new Set<string>();
  const worked = new Set<string>();
  for (const change of unitChanges) {
    const key = change.key;
    const existed = Object.hasOwn(mini.units, key);
    if (change.type === 'unit.removed') {
      removed.add(key);
      const at = created.indexOf(key);
      if (at >= 0) created.splice(at, 1);
    }
    // Planning touches a unit without working on it (every worker plans every unit).
    if (change.type !== 'unit.planned') worked.add(key);
    if (change.type === 'unit.completed') written.completed += 1;
    if (change.type === 'unit.failed') {
      written.failed += 1;
      written.lastFailure = change.message;
    }
    applyChange(mini, change);
    if (!existed && Object.hasOwn(mini.units, key)) created.push(key);
  }

  const worker = options.worker;
  const gone = [...removed].filter((key) => loaded.has(key));
  if (gone.length > 0) {
    const deleted = await client.query(
      `DELETE FROM ${t.units} WHERE checkpoint = $1 AND key = ANY($2::text[])`,
      [cid, gone.map(encodeText)],
    );
    written.delta -= deleted.rowCount ?? 0;
  }

  // Units that stay in place first (they keep their seq), then new ones in the order they appeared.
  const order = [
    ...keys.filter((key) => loaded.has(key) && !removed.has(key) && Object.hasOwn(mini.units, key)),
    ...created,
  ];
  const kept = new UnitArrays();
  const added = new UnitArrays();
  for (const key of order) {
    const unit = ownKey(mini.units, key)!;
    written.after.set(key, unit);
    const before = removed.has(key) ? undefined : loaded.get(key);
    written.items += Math.max(0, unit.done - (before ? (doneBefore.get(key) ?? 0) : 0));
    const settled = unit.status === 'complete' || unit.status === 'failed';
    const renew = !settled && worker !== null && worked.has(key);
    const keep = !settled && !renew && before !== undefined;
    (before ? kept : added).push(key, unit, {
      owner: renew ? worker!.id : keep ? (before?.leaseOwner ?? null) : null,
      expires: keep ? (before?.leaseExpires ?? null) : null,
      renew,
    });
  }
  await writeUnitRows(client, t, cid, kept, 'update', worker?.leaseMs ?? 0);
  const inserted = await writeUnitRows(client, t, cid, added, 'insert', worker?.leaseMs ?? 0);
  written.delta += inserted;
  if (inserted < added.keys.length) {
    // Another transaction created some of these units after we looked: our state for them is
    // not theirs. Start over (the caller retries), now that they can be read.
    throw new ConcurrentChangeError(
      `checkpoint "${id}": units were planned by another run at the same time`,
    );
  }
  for (const key of removed) if (!Object.hasOwn(mini.units, key)) written.after.delete(key);
  return written;
}

/** Changes that carry on work a worker began under its lease: only the lease's owner may save them. */
export const CARRY_ON = new Set<Change['type']>([
  'unit.progressed',
  'unit.completed',
  'unit.failed',
]);

/**
 * Worker mode: the units whose changes in this flush are stale, because the unit is no longer
 * this worker's. Another worker holds it under a live lease; or the flush carries on work on it
 * (progress, completion, failure) without starting it again, and this worker's lease on it is
 * gone: its lease expired and another worker claimed it (and maybe finished it or let it go), or
 * an operator released it. A worker paused longer than its lease wakes up with such changes
 * (CI saw a worker's page saved after another worker had finished the unit: its rows twice, its
 * cursor set back). They are left out; the caller tells the run which units they were.
 */
function fence(
  loaded: ReadonlyMap<string, LoadedUnit>,
  changes: readonly UnitChange[],
  options: ApplyOptions,
): Set<string> {
  const fenced = new Set<string>();
  const worker = options.worker;
  if (!worker) return fenced;
  /** Units this flush starts or resets itself: a claim, or work begun without one. */
  const taken = new Set<string>();
  for (const change of changes) {
    // Planning touches every unit without working on it.
    if (change.type === 'unit.planned' || fenced.has(change.key)) continue;
    const lease = loaded.get(change.key);
    // A unit this flush creates, or one leased to this worker: its own to work on.
    if (!lease || lease.leaseOwner === worker.id) continue;
    if (lease.leaseOwner !== null && lease.leaseLive) fenced.add(change.key);
    else if (CARRY_ON.has(change.type) && !taken.has(change.key)) fenced.add(change.key);
    else taken.add(change.key);
  }
  return fenced;
}

/**
 * Leaves out the plans of units that exist already with the same total: planning changes
 * nothing for them, and every worker plans every unit, so their rows are neither locked nor
 * written (a worker's plan then never waits on, or holds up, the others' work).
 */
async function dropKnownPlans(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  changes: readonly UnitChange[],
): Promise<UnitChange[]> {
  const planOnly = new Map<string, Extract<Change, { type: 'unit.planned' }>[]>();
  const other = new Set<string>();
  for (const change of changes) {
    if (change.type !== 'unit.planned') other.add(change.key);
    else if (!other.has(change.key)) {
      const plans = planOnly.get(change.key);
      if (plans) plans.push(change);
      else planOnly.set(change.key, [change]);
    }
  }
  for (const key of other) planOnly.delete(key);
  if (planOnly.size < 2) return [...changes];
  const known = await client.query<{ key: string; total: number | null }>(
    `SELECT key, total FROM ${t.units} WHERE checkpoint = $1 AND key = ANY($2::text[])`,
    [cid, [...planOnly.keys()].map(encodeText)],
  );
  const unchanged = new Set<string>();
  for (const row of known.rows) {
    const key = keyFromRow(row);
    const plans = planOnly.get(key)!;
    if (plans.every((plan) => plan.total === undefined || plan.total === row.total))
      unchanged.add(key);
  }
  return unchanged.size === 0
    ? [...changes]
    : changes.filter((change) => !unchanged.has(change.key));
}

/** A transaction computed from rows another one changed meanwhile; it is retried like a serialization failure. */
export class ConcurrentChangeError extends Error {
  override name = 'ConcurrentChangeError';
  readonly code = '40001';
}
