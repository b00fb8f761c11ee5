import { randomUUID } from 'node:crypto';
import { CHECKPOINT_FORMAT, CheckpointLockedError, type JoinOptions } from '@checkpointkit/core';
import { encodeText } from './codec.js';
import { ConnectionPoolerError } from './errors.js';
import { Hold, type HoldContext } from './holds.js';
import { passingHold, tryLock } from './locks.js';
import { beginPinned, commitPinned } from './pinned.js';
import { describePool } from './pool.js';
import { RetryLater } from './retry.js';
import { failStaleSessions, ownerOf, type SessionStart, startSession } from './sessions.js';
import { acceptUnits } from './unit-count.js';

/**
 * Takes a checkpoint's advisory lock on a connection of its own: exclusive (`join` absent) or
 * shared by workers (`join` given; creates the checkpoint when it does not exist), and starts
 * the run's session. `ours` collects the server backends of this acquisition's tries (one set
 * per acquisition, shared by its retries).
 */
export async function acquireHold(
  ctx: HoldContext,
  id: string,
  join: JoinOptions | null,
  ours: Set<number> = new Set(),
): Promise<Hold> {
  const { pool, t } = ctx;
  const cid = encodeText(id);
  const key = `checkpointkit:${t.name}:${cid}`;
  const client = await pool.connect();
  const onError = () => {};
  client.on('error', onError);
  try {
    // The connection enters a transaction before it takes the lock and stays in one until the
    // hold is released: a transaction-pooling proxy then keeps it on the backend that holds the
    // lock (see pinned.ts). Statement pooling refuses this BEGIN (the store reports it).
    const backend = await beginPinned(client);
    ours.add(backend);
    const taken = await tryLock(client, key, join !== null);
    if (taken === 'here') {
      await client.query('ROLLBACK');
      throw unpinnedLock(ctx, id);
    }
    if (taken === 'busy') {
      // A try before this one took the lock and lost its connection (the answer lost with it):
      // waited for, as a hold's recovery does, instead of reporting this process as another
      // (CI saw "locked by another process" so).
      const wait = await passingHold(client, key, ours);
      if (wait) {
        await client.query('ROLLBACK');
        throw wait;
      }
      const owner = await ownerOf(client, t, cid);
      await client.query('ROLLBACK');
      throw new CheckpointLockedError(id, owner);
    }
    const sessionId = randomUUID();
    let created = false;
    if (join) {
      const inserted = await client.query(
        `INSERT INTO ${t.checkpoints} (id, format, status, config_digest, created_at, changed_at)
         VALUES ($1, $2, 'running', $3, $4, $4)
         ON CONFLICT (id) DO NOTHING`,
        [
          cid,
          CHECKPOINT_FORMAT,
          join.created.configDigest === null ? null : encodeText(join.created.configDigest),
          join.created.at,
        ],
      );
      created = inserted.rowCount === 1;
      await failStaleSessions(client, t, cid, join.leaseMs * 3);
    } else {
      await failStaleSessions(client, t, cid, null);
    }
    await acceptUnits(client, t, cid);
    const session: SessionStart = {
      sessionId,
      cid,
      mode: join ? 'worker' : 'exclusive',
      worker: join?.worker ?? null,
      host: ctx.host,
      pid: ctx.pid,
      options: {
        ...ctx.sessionOptions,
        ...(join && { worker: join.worker, leaseMs: join.leaseMs }),
      },
    };
    await startSession(client, t, session);
    const started = await client.query<{ started_at: Date }>(
      `SELECT started_at FROM ${t.sessions} WHERE session_id = $1`,
      [sessionId],
    );
    await commitPinned(client);
    client.off('error', onError);
    return new Hold({
      ctx,
      id,
      key,
      client,
      backend,
      owner: { pid: ctx.pid, host: ctx.host, since: started.rows[0]!.started_at.toISOString() },
      created,
      session,
      worker: join ? { id: join.worker, leaseMs: join.leaseMs } : null,
    });
  } catch (error) {
    client.off('error', onError);
    // Closing the connection drops the lock it took and ends its transaction (a pooler closes
    // a server connection whose client left inside a transaction). Kept only when the lock was
    // not taken and the transaction is over.
    client.release(
      error instanceof CheckpointLockedError ||
        error instanceof ConnectionPoolerError ||
        error instanceof RetryLater
        ? undefined
        : true,
    );
    throw error;
  }
}

/**
 * The backend a transaction-pooling proxy gave this connection holds the checkpoint's lock,
 * which this connection never took: another process took it there without staying in a
 * transaction, and the lock is no proof of anything any more.
 */
function unpinnedLock(ctx: HoldContext, id: string): ConnectionPoolerError {
  const endpoint = describePool(ctx.pool);
  return new ConnectionPoolerError(
    endpoint,
    'unpinned-lock',
    `checkpoint "${id}": ${endpoint}: the connection goes through a transaction-pooling proxy, and the server backend it got already holds the checkpoint's lock, which this connection never took: another process took that session advisory lock without staying in a transaction (an earlier version of @checkpointkit/storage-postgres, or code of your own), so the pooler hands it to whichever client gets that backend, and two runs could both hold the checkpoint. Upgrade every process that opens this checkpoint, or connect them directly or through session pooling (PgBouncer pool_mode = session)`,
  );
}
