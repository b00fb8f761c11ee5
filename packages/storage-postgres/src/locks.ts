import type pg from 'pg';
import { RetryLater } from './retry.js';

/**
 * The server processes holding the advisory lock of `key` now. A bigint advisory key shows in
 * pg_locks as its high and low 32 bits (classid, objid) with objsubid 1.
 */
export async function lockHolders(client: pg.ClientBase, key: string): Promise<number[]> {
  const found = await client.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l, (SELECT hashtextextended($1, 0) AS k) h
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.classid::bigint = (h.k >> 32) & 4294967295 AND l.objid::bigint = h.k & 4294967295`,
    [key],
  );
  return found.rows.map((row) => row.pid);
}

/**
 * For a lock {@link tryLock} found busy: a {@link RetryLater} when the wait will end, else null
 * (another process holds it). It will when the lock was released meanwhile, or when one of
 * `ours` holds it, the backends of this process's earlier tries: a try that took the lock and
 * lost its connection leaves it held by its backend until the server notices (at once, on its
 * next read of the socket, or after TCP keepalive; CI saw the lock reported held by another in
 * that gap). Asked of pg_locks, not pg_stat_activity: that backend may end, and release the
 * lock, between the try and the look.
 */
export async function passingHold(
  client: pg.ClientBase,
  key: string,
  ours: ReadonlySet<number>,
): Promise<RetryLater | null> {
  const holders = await lockHolders(client, key);
  if (holders.length === 0) return new RetryLater('the lock was released meanwhile');
  if (holders.some((holder) => ours.has(holder)))
    return new RetryLater('the backend of a broken connection still holds it');
  return null;
}

/**
 * What {@link tryLock} found: the lock `taken`, `busy` (another backend holds it in a mode that
 * excludes this one), or `here`: the backend this connection is on held it already, though this
 * connection never took it.
 */
export type TryLockResult = 'taken' | 'busy' | 'here';

/**
 * Tries the advisory lock of `key` (shared for workers), on a connection inside a transaction
 * (see pinned.ts). A session that holds an advisory lock gets it again (they are re-entrant), so
 * a backend that already holds it is told apart before the try, in the same statement (CASE
 * evaluates its condition first): behind a transaction-pooling proxy, a process that took the
 * lock without staying in a transaction (an earlier version of this store, code of your own)
 * left it on a pooled backend, and taking it again there would give two runs the checkpoint.
 */
export async function tryLock(
  client: pg.ClientBase,
  key: string,
  shared: boolean,
): Promise<TryLockResult> {
  const fn = shared ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
  const result = await client.query<{ here: boolean; ok: boolean | null }>(
    `SELECT h.here, CASE WHEN h.here THEN NULL ELSE ${fn}(h.k) END AS ok
       FROM (SELECT k, EXISTS (
               SELECT 1 FROM pg_locks l
                WHERE l.pid = pg_backend_pid() AND l.locktype = 'advisory' AND l.granted
                  AND l.objsubid = 1 AND l.classid::bigint = (k >> 32) & 4294967295
                  AND l.objid::bigint = k & 4294967295) AS here
               FROM (SELECT hashtextextended($1, 0) AS k) key) h`,
    [key],
  );
  const row = result.rows[0]!;
  return row.here ? 'here' : row.ok ? 'taken' : 'busy';
}
