import type { Json, LockOwner } from '@checkpointkit/core';
import type pg from 'pg';
import { decodeJson, decodeText, encodeJson, encodeText } from './codec.js';
import type { Tables } from './tables.js';

/** How a session ended, as seed 004's crawl_session records it. */
export type SessionStatus = 'running' | 'completed' | 'stopped' | 'failed';

/** One run of a job against a checkpoint: a row of the sessions table. */
export interface SessionRecord {
  sessionId: string;
  checkpoint: string;
  mode: 'exclusive' | 'worker';
  worker: string | null;
  host: string;
  pid: number;
  startedAt: string;
  completedAt: string | null;
  status: SessionStatus;
  unitsCompleted: number;
  unitsFailed: number;
  itemsProcessed: number;
  flushes: number;
  options: Record<string, Json>;
  error: string | null;
}

export interface SessionStart {
  sessionId: string;
  cid: string;
  mode: 'exclusive' | 'worker';
  worker: string | null;
  host: string;
  pid: number;
  options: Record<string, Json>;
}

/**
 * Records a run's session as running. `startedAt`: when the run started, for a row written again
 * after it was deleted under the run (it then stays as it is, should it be there after all).
 */
export async function startSession(
  client: pg.ClientBase,
  t: Tables,
  start: SessionStart,
  startedAt?: string,
): Promise<void> {
  // clock_timestamp(): written on a run's lock connection, whose chained transaction began at
  // its previous commit (pinned.ts), so now() would date the row (and its heartbeat) too early.
  await client.query(
    `INSERT INTO ${t.sessions} (session_id, checkpoint, mode, worker, host, pid, options, started_at, heartbeat_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, COALESCE($8::timestamptz, clock_timestamp()), clock_timestamp())
     ${startedAt === undefined ? '' : 'ON CONFLICT (session_id) DO NOTHING'}`,
    [
      start.sessionId,
      start.cid,
      start.mode,
      start.worker === null ? null : encodeText(start.worker),
      encodeText(start.host),
      start.pid,
      encodeJson(start.options) ?? '{}',
      startedAt ?? null,
    ],
  );
}

/**
 * How long after its last heartbeat a running session counts as dead: a worker's heartbeat comes
 * every third of its lease, an exclusive run's every 5 s; three missed beats and it is gone.
 */
export const EXCLUSIVE_STALE_MS = 15_000;
const STALE_AFTER_MS = `(CASE WHEN mode = 'worker'
    THEN COALESCE((options ->> 'leaseMs')::float8, 30000) * 3
    ELSE ${EXCLUSIVE_STALE_MS} END)`;
/**
 * True for a session that says `running` but has not beaten its heart in time, as of `at`:
 * `now()` on a pool connection; `clock_timestamp()` on a run's lock connection, where now() is
 * when its previous heartbeat committed (pinned.ts).
 */
const staleAt = (at: 'now()' | 'clock_timestamp()') =>
  `(status = 'running' AND heartbeat_at < ${at} - ${STALE_AFTER_MS} * interval '1 millisecond')`;
const STALE = staleAt('now()');
const DIED = 'the run ended without closing (its process died or lost its connection)';

/**
 * Marks the running sessions of a checkpoint whose heartbeat stopped (each by its own mode and
 * lease) as failed: a worker that was killed before it claimed anything leaves no lease behind
 * to expire, only its session.
 */
export async function failDeadSessions(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
): Promise<void> {
  // Run from a hold's release on its lock connection: the wall clock, not now() (pinned.ts).
  await client.query(
    `UPDATE ${t.sessions} SET status = 'failed', completed_at = clock_timestamp(), error = $2
     WHERE checkpoint = $1 AND ${staleAt('clock_timestamp()')}`,
    [cid, DIED],
  );
}

/**
 * Marks the sessions of a checkpoint that cannot be running any more as failed: when an
 * exclusive lock was just granted, every other running session; when a worker joins, the
 * sessions whose heartbeat stopped longer than `staleMs` ago.
 */
export async function failStaleSessions(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  staleMs: number | null,
): Promise<void> {
  // Run on the lock connection as the lock is taken: the wall clock, not now() (pinned.ts).
  await client.query(
    `UPDATE ${t.sessions} SET status = 'failed', completed_at = clock_timestamp(), error = $3
     WHERE checkpoint = $1 AND status = 'running'
       AND ($2::float8 IS NULL OR heartbeat_at < clock_timestamp() - $2::float8 * interval '1 millisecond')`,
    [cid, staleMs, DIED],
  );
}

/**
 * Marks the running sessions of workers whose leases expired as failed: a worker renews its
 * leases while it lives, so an expired lease means it crashed, was killed, or hangs.
 */
export async function failWorkers(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
  workers: readonly string[],
): Promise<void> {
  await client.query(
    `UPDATE ${t.sessions} SET status = 'failed', completed_at = now(),
       error = 'its lease expired: the worker stopped renewing it (crashed, killed, or hung)'
     WHERE checkpoint = $1 AND mode = 'worker' AND status = 'running' AND worker = ANY($2::text[])`,
    [cid, workers.map(encodeText)],
  );
}

/**
 * Ends a session: completed when its checkpoint is completed (or was deleted on finish) or has
 * no unit left to do, failed when the checkpoint failed, stopped otherwise. Stamped with
 * clock_timestamp(): it runs on the run's lock connection, where now() is when its previous
 * heartbeat committed (pinned.ts).
 */
export async function endSession(
  client: pg.ClientBase,
  t: Tables,
  sessionId: string,
  cid: string,
  lastFailure: string | null,
): Promise<void> {
  await client.query(
    `WITH state AS (
       SELECT (SELECT status FROM ${t.checkpoints} WHERE id = $2) AS checkpoint_status,
              EXISTS (SELECT 1 FROM ${t.units}
                      WHERE checkpoint = $2 AND status IN ('pending', 'in_progress')) AS open_units
     )
     UPDATE ${t.sessions} SET
       completed_at = clock_timestamp(),
       status = CASE
         WHEN state.checkpoint_status IS NULL OR state.checkpoint_status = 'completed' THEN 'completed'
         WHEN state.checkpoint_status = 'failed' THEN 'failed'
         WHEN NOT state.open_units THEN 'completed'
         ELSE 'stopped' END,
       error = CASE WHEN state.checkpoint_status = 'failed' THEN $3 ELSE error END
     FROM state
     WHERE session_id = $1 AND status = 'running'`,
    [sessionId, cid, lastFailure === null ? null : encodeText(lastFailure)],
  );
}

/** Who holds a checkpoint, as its newest running session says (exclusive holders first). */
export async function ownerOf(
  client: pg.ClientBase,
  t: Tables,
  cid: string,
): Promise<LockOwner | null> {
  const result = await client.query<{ pid: number; host: string; started_at: Date }>(
    `SELECT pid, host, started_at FROM ${t.sessions}
     WHERE checkpoint = $1 AND status = 'running' AND NOT ${STALE}
     ORDER BY (mode = 'exclusive') DESC, started_at DESC LIMIT 1`,
    [cid],
  );
  const row = result.rows[0];
  return row
    ? { pid: row.pid, host: decodeText(row.host), since: row.started_at.toISOString() }
    : null;
}

interface SessionRow {
  session_id: string;
  checkpoint: string;
  mode: 'exclusive' | 'worker';
  worker: string | null;
  host: string;
  pid: number;
  started_at: Date;
  completed_at: Date | null;
  status: SessionStatus;
  units_completed: number;
  units_failed: number;
  items_processed: number;
  flushes: number;
  options: Record<string, Json>;
  error: string | null;
}

/** The sessions of one checkpoint (or of all), oldest first. */
export async function listSessions(
  client: pg.ClientBase,
  t: Tables,
  cid: string | null,
): Promise<SessionRecord[]> {
  const result = await client.query<SessionRow>(
    // A session whose heartbeat stopped is shown as failed, as the next join will mark it.
    `SELECT *,
            CASE WHEN ${STALE} THEN 'failed' ELSE status END AS status,
            CASE WHEN ${STALE} THEN $2 ELSE error END AS error
     FROM ${t.sessions} WHERE $1::text IS NULL OR checkpoint = $1 ORDER BY started_at, session_id`,
    [cid, DIED],
  );
  return result.rows.map((row) => ({
    sessionId: row.session_id,
    checkpoint: decodeText(row.checkpoint),
    mode: row.mode,
    worker: row.worker === null ? null : decodeText(row.worker),
    host: decodeText(row.host),
    pid: row.pid,
    startedAt: row.started_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
    status: row.status,
    unitsCompleted: row.units_completed,
    unitsFailed: row.units_failed,
    itemsProcessed: row.items_processed,
    flushes: row.flushes,
    options: decodeJson<Record<string, Json>>(row.options),
    error: row.error === null ? null : decodeText(row.error),
  }));
}
