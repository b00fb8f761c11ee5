import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointListing,
  type CheckpointSummary,
  emptyCounts,
  type Json,
  type MappedId,
  measureProgress,
  type RunStatus,
} from '@checkpointkit/core';
import type pg from 'pg';
import { decodeJson, decodeText, encodeText, ownKey, setKey } from './codec.js';
import { CheckpointDeletedError } from './errors.js';
import { keyFromRow, UNIT_COLUMNS, type UnitRow, unitFromRow } from './rows.js';
import type { Tables } from './tables.js';
import { unitsDeleted } from './unit-count.js';

interface CheckpointRow {
  id: string;
  status: RunStatus;
  config_digest: string | null;
  meta: Record<string, Json>;
  save_count: number;
  last_save_reason: string | null;
  created_at: Date;
  changed_at: Date;
}

const CHECKPOINT_COLUMNS =
  'id, status, config_digest, meta, save_count, last_save_reason, created_at, changed_at';

/**
 * The checkpoint as its rows hold it, read in one repeatable-read transaction so that units,
 * id maps and counters are of the same moment. `held`: a run of this store holds it, so units
 * rows fewer than the store wrote were deleted under it ({@link UnitsDeletedError}), and so was
 * the checkpoint row when a worker holds it (a worker's join creates it; an exclusive run's
 * checkpoint may not exist yet).
 */
export async function loadCheckpoint(
  client: pg.ClientBase,
  t: Tables,
  id: string,
  held?: { worker: boolean },
): Promise<Checkpoint | null> {
  const cid = encodeText(id);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    // unit_count is a bigint, which pg gives as a string.
    const head = await client.query<CheckpointRow & { unit_count: string }>(
      `SELECT ${CHECKPOINT_COLUMNS}, unit_count FROM ${t.checkpoints} WHERE id = $1`,
      [cid],
    );
    const row = head.rows[0];
    if (!row) {
      if (held?.worker) throw new CheckpointDeletedError(id, 'loading', t.checkpoints);
      await client.query('COMMIT');
      return null;
    }
    const units = await client.query<UnitRow>(
      `SELECT ${UNIT_COLUMNS} FROM ${t.units} WHERE checkpoint = $1 ORDER BY seq`,
      [cid],
    );
    if (held) unitsDeleted(t, id, 'loading', Number(row.unit_count), units.rows.length);
    const maps = await client.query<{ namespace: string; source_id: string; target_id: MappedId }>(
      `SELECT namespace, source_id, target_id FROM ${t.idMaps} WHERE checkpoint = $1 ORDER BY seq`,
      [cid],
    );
    const counters = await client.query<{ name: string; value: number }>(
      `SELECT name, value FROM ${t.counters} WHERE checkpoint = $1 ORDER BY seq`,
      [cid],
    );
    const checkpoint = checkpointFromRow(id, row);
    for (const unit of units.rows) setKey(checkpoint.units, keyFromRow(unit), unitFromRow(unit));
    for (const mapping of maps.rows) {
      const name = decodeText(mapping.namespace);
      let map = ownKey(checkpoint.idMaps, name);
      if (!map) {
        map = {};
        setKey(checkpoint.idMaps, name, map);
      }
      setKey(map, decodeText(mapping.source_id), decodeJson<MappedId>(mapping.target_id));
    }
    for (const counter of counters.rows)
      setKey(checkpoint.stats, decodeText(counter.name), counter.value);
    await client.query('COMMIT');
    return checkpoint;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

function checkpointFromRow(id: string, row: CheckpointRow): Checkpoint {
  return {
    format: CHECKPOINT_FORMAT,
    id,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.changed_at.toISOString(),
    configDigest: row.config_digest === null ? null : decodeText(row.config_digest),
    units: {},
    idMaps: {},
    stats: {},
    meta: {
      saveCount: row.save_count,
      lastSaveReason: row.last_save_reason === null ? null : decodeText(row.last_save_reason),
      user: decodeJson<Record<string, Json>>(row.meta),
    },
  };
}

interface ListingRow extends CheckpointRow {
  units: {
    pending: number;
    in_progress: number;
    complete: number;
    failed: number;
    done: number;
    total: number;
    unknown_totals: number;
  };
  stats: [string, number][] | null;
  maps: [string, number][] | null;
}

/** Every checkpoint with its summary, computed by the database (no unit is loaded). */
export async function listCheckpoints(
  client: pg.ClientBase,
  t: Tables,
): Promise<CheckpointListing[]> {
  const result = await client.query<ListingRow>(
    `SELECT ${CHECKPOINT_COLUMNS.split(', ')
      .map((column) => `c.${column}`)
      .join(', ')},
       (SELECT json_build_object(
          'pending', count(*) FILTER (WHERE status = 'pending'),
          'in_progress', count(*) FILTER (WHERE status = 'in_progress'),
          'complete', count(*) FILTER (WHERE status = 'complete'),
          'failed', count(*) FILTER (WHERE status = 'failed'),
          'done', coalesce(sum(done), 0),
          'total', coalesce(sum(total), 0),
          'unknown_totals', count(*) FILTER (WHERE total IS NULL))
        FROM ${t.units} u WHERE u.checkpoint = c.id) AS units,
       (SELECT json_agg(json_build_array(name, value) ORDER BY seq)
        FROM ${t.counters} s WHERE s.checkpoint = c.id) AS stats,
       (SELECT json_agg(json_build_array(namespace, n))
        FROM (SELECT namespace, count(*) AS n FROM ${t.idMaps} m
              WHERE m.checkpoint = c.id GROUP BY namespace) g) AS maps
     FROM ${t.checkpoints} c
     ORDER BY c.id`,
  );
  return result.rows.map((row) => {
    const id = decodeText(row.id);
    const head = checkpointFromRow(id, row);
    const counts = emptyCounts();
    counts.pending = row.units.pending;
    counts.in_progress = row.units.in_progress;
    counts.complete = row.units.complete;
    counts.failed = row.units.failed;
    const total = counts.pending + counts.in_progress + counts.complete + counts.failed;
    const stats: Record<string, number> = {};
    for (const [name, value] of row.stats ?? []) setKey(stats, decodeText(name), value);
    const idMaps: Record<string, number> = {};
    for (const [name, size] of row.maps ?? []) setKey(idMaps, decodeText(name), size);
    const summary: CheckpointSummary = {
      id,
      status: head.status,
      // The same progress rule as core's summarize (planned units, items of a one-unit job).
      ...measureProgress(
        counts,
        {
          done: row.units.done,
          total: row.units.unknown_totals === 0 && total > 0 ? row.units.total : null,
        },
        head.meta.user,
        head.status,
      ),
      stats,
      idMaps,
      createdAt: head.createdAt,
      updatedAt: head.updatedAt,
      saveCount: head.meta.saveCount,
      lastSaveReason: head.meta.lastSaveReason,
    };
    return { id, summary };
  });
}
