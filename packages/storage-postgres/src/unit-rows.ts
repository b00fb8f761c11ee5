import type { Unit } from '@checkpointkit/core';
import type pg from 'pg';
import { encodeJson, encodeText } from './codec.js';
import { keyFromRow, UNIT_COLUMNS, type UnitRow, unitFromRow } from './rows.js';
import type { Tables } from './tables.js';

/** A units row a flush read and locked, with its lease. */
export interface LoadedUnit {
  unit: Unit;
  leaseOwner: string | null;
  leaseExpires: string | null;
  leaseLive: boolean;
}

/** Reads the units a flush touches and locks them, in key order (the one lock order). */
export async function lockUnits(
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
export class UnitArrays {
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

/**
 * Writes unit rows in one statement. `update`: rows this transaction read and locked (so they
 * are there, unchanged by anyone else). `insert`:
 * rows it believes new, in the order they appeared (their seq); returns how many were new.
 */
export async function writeUnitRows(
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
