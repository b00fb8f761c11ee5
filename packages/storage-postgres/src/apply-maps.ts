import type { Change, Json } from '@checkpointkit/core';
import type pg from 'pg';
import { encodeJson, encodeText } from './codec.js';
import type { Tables } from './tables.js';

/*
 * The id maps and counters of a flush: each written with one multi-row statement, its rows
 * sorted so that concurrent flushes take their locks in one order.
 */

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Inserts the first mapping of each (map, source) in the changes; an existing mapping is kept. */
export async function writeIdMaps(
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

/** Adds each counter's sum over the changes to its row. */
export async function writeCounters(
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
