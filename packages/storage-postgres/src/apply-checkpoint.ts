import { CHECKPOINT_FORMAT, type Change, CheckpointError, type Json } from '@checkpointkit/core';
import type pg from 'pg';
import type { ApplyOptions } from './apply.js';
import type { UnitsWritten } from './apply-units.js';
import { encodeJson, encodeText, setKey } from './codec.js';
import { CheckpointDeletedError } from './errors.js';
import type { Tables } from './tables.js';

export type Created = Extract<Change, { type: 'created' }>;

export function missing(id: string, cause?: unknown): CheckpointError {
  return new CheckpointError(
    `checkpoint "${id}" does not exist; its log must start with "created"`,
    {
      cause,
    },
  );
}

/**
 * The error for a checkpoint that is not there: deleted under the run that holds it
 * (`options.held`), else a log that does not start with `created`.
 */
export function absent(
  t: Tables,
  id: string,
  options: Pick<ApplyOptions, 'held'>,
  cause?: unknown,
): CheckpointError {
  return options.held === undefined
    ? missing(id, cause)
    : new CheckpointDeletedError(id, options.held, t.checkpoints, { cause });
}

export async function assertExists(
  client: pg.ClientBase,
  t: Tables,
  id: string,
  cid: string,
  options: Pick<ApplyOptions, 'held'>,
): Promise<void> {
  const found = await client.query(`SELECT 1 FROM ${t.checkpoints} WHERE id = $1`, [cid]);
  if (found.rowCount === 0) throw absent(t, id, options);
}

/** A `created` change: the checkpoint starts over (or starts). */
export async function reset(
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
         meta = excluded.meta, save_count = 0, last_save_reason = NULL, unit_count = 0,
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

/** Updates the checkpoint row with a flush's changes, records the flush (its batch id) and adds its counts to the session. */
export async function writeCheckpoint(
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
       changed_at = GREATEST(changed_at, $8::timestamptz),
       unit_count = unit_count + $14
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
      units.delta,
    ],
  );
  if (result.rowCount === 0) throw absent(t, id, options);
}
