import { randomUUID } from 'node:crypto';
import type { StoreTransaction } from '@checkpointkit/core';
import type pg from 'pg';
import { applyChanges } from './apply.js';
import { watchConnection } from './clients.js';
import { committed, refusedDoing, type WriteContext } from './commit.js';
import { PostgresStoreError, refusal } from './errors.js';
import type { Hold } from './holds.js';
import { isConnectionError, isTransient, retrying } from './retry.js';

/** A transaction of the PostgreSQL store: `client` is the `pg` client it runs on. */
export interface PostgresTransaction extends StoreTransaction {
  readonly client: pg.PoolClient;
}

/**
 * Runs `work` in one transaction on one connection: the changes it appends commit with the rows
 * it writes through `tx.client`, or not at all. A commit whose connection broke is resolved by
 * asking whether its last batch id is taken. When a try fails on a broken connection and did
 * not commit, `work` runs again on a new connection (the store's retry policy bounds how long):
 * core's run takes back what the failed try recorded before it calls `work` again.
 * A statement of the store's own (in `tx.append`) that the server refuses for good is a
 * {@link DatabaseRefusedError}, which stops the run; one of `work`'s own (a sink's) is its
 * unit's failure, thrown as it is.
 * `hold`: this store's hold of the checkpoint, if any.
 */
export async function runTransaction<T>(
  ctx: WriteContext,
  hold: Hold | undefined,
  id: string,
  work: (tx: PostgresTransaction) => Promise<T>,
): Promise<T> {
  return retrying(ctx.policy, `checkpoint "${id}": transaction`, async (attempt) => {
    if (attempt > 1) await hold?.check();
    return tryTransaction(ctx, hold, id, work);
  });
}

async function tryTransaction<T>(
  ctx: WriteContext,
  hold: Hold | undefined,
  id: string,
  work: (tx: PostgresTransaction) => Promise<T>,
): Promise<T> {
  const { pool, t } = ctx;
  const client = await pool.connect();
  const connection = watchConnection(client);
  const batches: string[] = [];
  let lastFailure: string | null = null;
  try {
    await client.query('BEGIN');
    const tx: PostgresTransaction = {
      client,
      async append(changes) {
        if (changes.length === 0) return;
        const batchId = randomUUID();
        batches.push(batchId);
        const result = await applyChanges(client, t, id, changes, {
          batchId,
          worker: hold?.worker ?? null,
          session: hold?.sessionId ?? null,
          ...(hold && { held: 'transaction' }),
        }).catch((error: unknown) => {
          // One that may pass (a lock timeout, a read-only server) is retried with the rest.
          throw isTransient(error) ? error : refusal(error, refusedDoing(ctx, id, 'transaction'));
        });
        lastFailure = result.lastFailure ?? lastFailure;
        // The run refuses the transaction when its own work was on one of these, and its
        // next work on any of them (store.ts, validateChange).
        for (const key of result.dropped) hold?.takenOver.add(key);
        return result.dropped.length > 0 ? { stale: result.dropped } : undefined;
      },
    };
    const value = await work(tx);
    try {
      const done = await client.query('COMMIT');
      if (done.command === 'ROLLBACK') {
        throw new PostgresStoreError(
          `checkpoint "${id}": the transaction was rolled back, because a statement in it failed`,
        );
      }
    } catch (error) {
      const lastBatch = batches.at(-1);
      if (!isConnectionError(error) || lastBatch === undefined) throw error;
      connection.broke(error as Error);
      // Committed after all: done. Not committed (and now never will): the retry runs it again.
      if (!(await committed(ctx, id, lastBatch, error))) throw error;
    }
    if (hold && lastFailure !== null) hold.lastFailure = lastFailure;
    return value;
  } catch (error) {
    if (!isConnectionError(error)) await client.query('ROLLBACK').catch(() => {});
    throw connection.failure(error);
  } finally {
    connection.release();
  }
}
