import {
  applyChange,
  CHECKPOINT_FORMAT,
  type Change,
  CheckpointError,
  emptyCheckpoint,
  type Json,
  LockLostError,
  type Unit,
} from '@checkpointkit/core';
import type pg from 'pg';
import { encodeJson, encodeText, ownKey, setKey } from './codec.js';
import { keyFromRow, UNIT_COLUMNS, type UnitRow, unitFromRow } from './rows.js';
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
  /** What to do with changes to units another worker took over: see {@link fence}. Default `throw`. */
  fence?: 'throw' | 'drop';
}

export interface ApplyResult {
  /** Each unit the changes touched, as it is after them (absent when removed). */
  units: Map<string, Unit>;
  /** The message of the last unit failure among the changes. */
  lastFailure: string | null;
  /** Units whose changes were left out, because another worker holds them now. */
  dropped: string[];
}

type UnitChange = Extract<Change, { key: string; at: string }>;
type Created = Extract<Change, { type: 'created' }>;

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

interface LoadedUnit {
  unit: Unit;
  leaseOwner: string | null;
  leaseExpires: string | null;
  leaseLive: boolean;
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
    if (last > 0) await assertExists(client, t, id, cid);
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
    if ((error as { code?: string }).code === '23503') throw missing(id, error);
    throw error;
  }
}

function missing(id: string, cause?: unknown): CheckpointError {
  return new CheckpointError(
    `checkpoint "${id}" does not exist; its log must start with "created"`,
    {
      cause,
    },
  );
}

async function assertExists(
  client: pg.ClientBase,
  t: Tables,
  id: string,
  cid: string,
): Promise<void> {
  const found = await client.query(`SELECT 1 FROM ${t.checkpoints} WHERE id = $1`, [cid]);
  if (found.rowCount === 0) throw missing(id);
}

/** A `created` change: the checkpoint starts over (or starts). */
async function reset(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  created: Created,
): Promise<void> {
  await client.query(
    `WITH up AS (
       INSERT INTO ${t.checkpoints}
         (id, format, status, config_digest, meta, save_count, last_save_reason, created_at, changed_at)
       VALUES ($1, $2, 'running', $3, '{}', 0, NULL, $4, $4)
       ON CONFLICT (id) DO UPDATE SET
         format = excluded.format, status = excluded.status, config_digest = excluded.config_digest,
         meta = excluded.meta, save_count = 0, last_save_reason = NULL,
         created_at = excluded.created_at, changed_at = excluded.changed_at
       RETURNING id
     ),
     u AS (DELETE FROM ${t.units} WHERE checkpoint = $1),
     m AS (DELETE FROM ${t.idMaps} WHERE checkpoint = $1)
     DELETE FROM ${t.counters} WHERE checkpoint = $1`,
    [
      cid,
      CHECKPOINT_FORMAT,
      created.configDigest === null ? null : encodeText(created.configDigest),
      created.at,
    ],
  );
}

interface UnitsWritten {
  after: Map<string, Unit>;
  dropped: string[];
  lastFailure: string | null;
  completed: number;
  failed: number;
  items: number;
}

async function writeUnits(
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
  };
  let unitChanges = changes.filter(isUnitChange);
  if (!fresh) unitChanges = await dropKnownPlans(client, t, cid, unitChanges);
  if (unitChanges.length === 0) return written;
  let keys = [...new Set(unitChanges.map((change) => change.key))];

  const loaded = fresh ? new Map<string, LoadedUnit>() : await lockUnits(client, t, cid, keys);
  const fenced = fence(id, loaded, unitChanges, options);
  if (fenced.size > 0) {
    unitChanges = unitChanges.filter((change) => !fenced.has(change.key));
    keys = keys.filter((key) => !fenced.has(key));
    for (const key of fenced) loaded.delete(key);
    written.dropped = [...fenced];
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
    await client.query(`DELETE FROM ${t.units} WHERE checkpoint = $1 AND key = ANY($2::text[])`, [
      cid,
      gone.map(encodeText),
    ]);
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

/**
 * Worker mode: the units this flush works on that another worker now holds under a live lease
 * (this worker's lease expired and the unit was claimed again). Their changes are stale: in a
 * transaction (`fence: 'throw'`) the whole transaction is refused with a {@link LockLostError},
 * since its rows must not commit; otherwise they are left out (`'drop'`), and the new owner
 * does the unit again (at-least-once).
 */
function fence(
  id: string,
  loaded: ReadonlyMap<string, LoadedUnit>,
  changes: readonly UnitChange[],
  options: ApplyOptions,
): Set<string> {
  const fenced = new Set<string>();
  const worker = options.worker;
  if (!worker) return fenced;
  for (const change of changes) {
    // Planning touches every unit without working on it.
    if (change.type === 'unit.planned') continue;
    const lease = loaded.get(change.key);
    if (lease?.leaseOwner && lease.leaseOwner !== worker.id && lease.leaseLive)
      fenced.add(change.key);
  }
  if (fenced.size > 0 && options.fence !== 'drop') {
    const [key] = fenced;
    throw new LockLostError(
      id,
      `unit "${key}" is leased to worker ${loaded.get(key!)!.leaseOwner}, not ${worker.id}`,
    );
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

/**
 * Writes unit rows in one statement. `update`: rows this transaction read and locked (so they
 * are there, unchanged by anyone else). `insert`:
 * rows it believes new, in the order they appeared (their seq); returns how many were new.
 */
async function writeUnitRows(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  rows: UnitArrays,
  mode: 'update' | 'insert',
  leaseMs: number,
): Promise<number> {
  if (rows.keys.length === 0) return 0;
  const columns = `unnest($2::text[], $3::text[], $4::int4[], $5::jsonb[], $6::float8[], $7::float8[],
                   $8::jsonb[], $9::timestamptz[], $10::timestamptz[], $11::text[],
                   $12::timestamptz[], $13::bool[]) WITH ORDINALITY
         AS x(key, status, attempts, cursor, done, total, error, started_at, completed_at,
              lease_owner, lease_expires_at, renew, ord)`;
  const expires = `CASE WHEN x.renew THEN clock_timestamp() + $14 * interval '1 millisecond'
                        ELSE x.lease_expires_at END`;
  const result = await client.query(
    `INSERT INTO ${t.units}
       (checkpoint, key, status, attempts, cursor, done, total, error, started_at, completed_at,
        lease_owner, lease_expires_at)
     SELECT $1, x.key, x.status, x.attempts, x.cursor, x.done, x.total, x.error, x.started_at,
            x.completed_at, x.lease_owner, ${expires}
     FROM ${columns}
     ORDER BY x.ord
     ${
       mode === 'insert'
         ? 'ON CONFLICT (checkpoint, key) DO NOTHING'
         : `ON CONFLICT (checkpoint, key) DO UPDATE SET
       status = excluded.status, attempts = excluded.attempts, cursor = excluded.cursor,
       done = excluded.done, total = excluded.total, error = excluded.error,
       started_at = excluded.started_at, completed_at = excluded.completed_at,
       lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at,
       updated_at = now()`
     }`,
    [cid, ...rows.params(), leaseMs],
  );
  return result.rowCount ?? 0;
}

/** A transaction computed from rows another one changed meanwhile; it is retried like a serialization failure. */
export class ConcurrentChangeError extends Error {
  override name = 'ConcurrentChangeError';
  readonly code = '40001';
}

/** Reads the units a flush touches and locks them, in key order (the one lock order). */
async function lockUnits(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  keys: readonly string[],
): Promise<Map<string, LoadedUnit>> {
  const result = await client.query<
    UnitRow & {
      lease_owner: string | null;
      lease_expires_at: Date | null;
      lease_live: boolean | null;
    }
  >(
    `SELECT ${UNIT_COLUMNS}, lease_owner, lease_expires_at, lease_expires_at > now() AS lease_live
     FROM ${t.units} WHERE checkpoint = $1 AND key = ANY($2::text[])
     ORDER BY key FOR UPDATE`,
    [cid, keys.map(encodeText)],
  );
  const loaded = new Map<string, LoadedUnit>();
  for (const row of result.rows) {
    loaded.set(keyFromRow(row), {
      unit: unitFromRow(row),
      leaseOwner: row.lease_owner,
      leaseExpires: row.lease_expires_at?.toISOString() ?? null,
      leaseLive: row.lease_live === true,
    });
  }
  return loaded;
}

/** Column arrays for one multi-row units upsert. */
class UnitArrays {
  readonly keys: string[] = [];
  readonly statuses: string[] = [];
  readonly attempts: number[] = [];
  readonly cursors: (string | null)[] = [];
  readonly done: number[] = [];
  readonly totals: (number | null)[] = [];
  readonly errors: (string | null)[] = [];
  readonly started: (string | null)[] = [];
  readonly completed: (string | null)[] = [];
  readonly owners: (string | null)[] = [];
  readonly expires: (string | null)[] = [];
  readonly renew: boolean[] = [];

  push(
    key: string,
    unit: Unit,
    lease: { owner: string | null; expires: string | null; renew: boolean },
  ): void {
    this.keys.push(encodeText(key));
    this.statuses.push(unit.status);
    this.attempts.push(unit.attempts);
    this.cursors.push(encodeJson(unit.cursor));
    this.done.push(unit.done);
    this.totals.push(unit.total);
    this.errors.push(encodeJson(unit.error));
    this.started.push(unit.startedAt);
    this.completed.push(unit.completedAt);
    this.owners.push(lease.owner);
    this.expires.push(lease.expires);
    this.renew.push(lease.renew);
  }

  params(): unknown[] {
    return [
      this.keys,
      this.statuses,
      this.attempts,
      this.cursors,
      this.done,
      this.totals,
      this.errors,
      this.started,
      this.completed,
      this.owners,
      this.expires,
      this.renew,
    ];
  }
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function writeIdMaps(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  changes: readonly Change[],
): Promise<void> {
  const first = new Map<string, { map: string; source: string; target: Json }>();
  for (const change of changes) {
    if (change.type !== 'id.mapped') continue;
    const key = JSON.stringify([change.map, change.source]);
    if (!first.has(key)) first.set(key, change);
  }
  if (first.size === 0) return;
  // Sorted, so that concurrent flushes take the unique index's locks in one order.
  const mappings = [...first.values()].sort(
    (a, b) => byCodeUnits(a.map, b.map) || byCodeUnits(a.source, b.source),
  );
  await client.query(
    `INSERT INTO ${t.idMaps} (checkpoint, namespace, source_id, target_id)
     SELECT $1, x.namespace, x.source_id, x.target_id
     FROM unnest($2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS x(namespace, source_id, target_id, ord)
     ORDER BY x.ord
     ON CONFLICT (checkpoint, namespace, source_id) DO NOTHING`,
    [
      cid,
      mappings.map((m) => encodeText(m.map)),
      mappings.map((m) => encodeText(m.source)),
      mappings.map((m) => encodeJson(m.target)),
    ],
  );
}

async function writeCounters(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  changes: readonly Change[],
): Promise<void> {
  const sums = new Map<string, number>();
  for (const change of changes) {
    if (change.type === 'counter.added')
      sums.set(change.name, (sums.get(change.name) ?? 0) + change.by);
  }
  if (sums.size === 0) return;
  const names = [...sums.keys()].sort(byCodeUnits);
  await client.query(
    `INSERT INTO ${t.counters} AS c (checkpoint, name, value)
     SELECT $1, x.name, x.value
     FROM unnest($2::text[], $3::float8[]) WITH ORDINALITY AS x(name, value, ord)
     ORDER BY x.ord
     ON CONFLICT (checkpoint, name) DO UPDATE SET value = c.value + excluded.value`,
    [cid, names.map(encodeText), names.map((name) => sums.get(name)!)],
  );
}

async function writeCheckpoint(
  client: pg.ClientBase,
  t: Tables,
  id: string,
  cid: string,
  changes: readonly Change[],
  options: ApplyOptions,
  units: UnitsWritten,
): Promise<void> {
  let status: string | null = null;
  let config: { value: string | null } | null = null;
  const meta: Record<string, Json> = {};
  let saves = 0;
  let reason: string | null = null;
  let latest: string | null = null;
  for (const change of changes) {
    if ('at' in change && (latest === null || change.at > latest)) latest = change.at;
    if (change.type === 'status') status = change.status;
    else if (change.type === 'config') config = { value: change.configDigest };
    else if (change.type === 'meta.set') setKey(meta, change.key, change.value);
    else if (change.type === 'saved') {
      saves += 1;
      reason = change.reason;
    }
  }
  const result = await client.query(
    `WITH flush AS (
       INSERT INTO ${t.flushes} (batch_id, checkpoint) VALUES ($9, $1)
     ),
     session AS (
       UPDATE ${t.sessions} SET
         units_completed = units_completed + $11, units_failed = units_failed + $12,
         items_processed = items_processed + $13, flushes = flushes + 1, heartbeat_at = now()
       WHERE session_id = $10
     )
     UPDATE ${t.checkpoints} SET
       status = COALESCE($2, status),
       config_digest = CASE WHEN $3 THEN $4 ELSE config_digest END,
       meta = meta || $5::jsonb,
       save_count = save_count + $6,
       last_save_reason = CASE WHEN $6 > 0 THEN $7 ELSE last_save_reason END,
       changed_at = GREATEST(changed_at, $8::timestamptz)
     WHERE id = $1
     RETURNING id`,
    [
      cid,
      status,
      config !== null,
      config?.value == null ? null : encodeText(config.value),
      encodeJson(meta) ?? '{}',
      saves,
      reason === null ? null : encodeText(reason),
      latest,
      options.batchId,
      options.session,
      units.completed,
      units.failed,
      units.items,
    ],
  );
  if (result.rowCount === 0) throw missing(id);
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}
