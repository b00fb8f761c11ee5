import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withClient } from './clients.js';
import { encodeText } from './codec.js';
import { DatabaseUnavailableError, OutcomeUnknownError, refusal } from './errors.js';
import { isConnectionError, isDuplicateFlush, retrying, type StorePolicy } from './retry.js';
import type { Tables } from './tables.js';

/** What a store's writes need: its pool, its tables and its retry policy. */
export interface WriteContext {
  readonly pool: pg.Pool;
  readonly t: Tables;
  readonly policy: StorePolicy;
}

/**
 * Runs a write transaction of the store's own statements, retrying it when the connection broke
 * or the server rolled it back. The batch id makes a retry of a transaction that did commit fail
 * on the flushes table's key, which tells that it committed; `onDuplicate` then gives the result.
 * A statement the server refuses for good is a {@link DatabaseRefusedError}; `doing` (`saving`,
 * `claiming units`) says in errors what the transaction was for.
 */
export async function commit<T>(
  ctx: WriteContext,
  id: string,
  doing: string,
  work: (client: pg.PoolClient, batchId: string) => Promise<T>,
  onDuplicate: (batchId: string) => Promise<T>,
): Promise<T> {
  const { pool, policy } = ctx;
  // One batch id for every try: a retry of a transaction that did commit clashes on it.
  const batchId = randomUUID();
  let commitBroke = false;
  try {
    return await retrying(policy, `checkpoint "${id}": ${doing}`, async () => {
      try {
        return await withClient(pool, (client) =>
          inTransaction(
            client,
            () => work(client, batchId),
            () => {
              commitBroke = true;
            },
          ),
        );
      } catch (error) {
        if (isDuplicateFlush(error)) return onDuplicate(batchId);
        throw error;
      }
    });
  } catch (error) {
    if (error instanceof DatabaseUnavailableError && commitBroke) {
      // A try's COMMIT broke and no later try could reach the server to find out (a retry
      // would have met the batch id): whether it committed cannot be known.
      throw new OutcomeUnknownError(
        `checkpoint "${id}": a commit's connection broke and the server could not be asked whether it committed: ${error.message}`,
        { cause: error },
      );
    }
    throw refusal(error, refusedDoing(ctx, id, doing));
  }
}

/** What a refused statement was for, naming the schema whose tables the server refused. */
export function refusedDoing(ctx: WriteContext, id: string, doing: string): string {
  return `checkpoint "${id}": ${doing} in schema "${ctx.t.name}"`;
}

/**
 * Whether a transaction whose commit broke did commit: its batch id is inserted on its own,
 * which waits for the transaction if the server still runs it. A clash means it committed;
 * success means it did not, and never will (the id is taken). Asks for as long as the retry
 * policy allows; then the outcome is unknown.
 *
 * A question whose own answer is lost may still have taken the id: the server ran the insert
 * and then the connection broke. The next question would clash on that and take it for the
 * transaction's commit, and the page it wrote would be lost. So a question takes a second id
 * with the first, derived from it, in the same statement: a clash on the batch id where that
 * one also exists is an earlier question's, not the transaction's.
 */
export async function committed(
  ctx: WriteContext,
  id: string,
  batchId: string,
  cause: unknown,
): Promise<boolean> {
  const asked = askedId(batchId);
  try {
    return await retrying(
      ctx.policy,
      `checkpoint "${id}": asking whether a commit went through`,
      () =>
        withClient(ctx.pool, async (client) => {
          try {
            await client.query(
              `INSERT INTO ${ctx.t.flushes} (batch_id, checkpoint) VALUES ($1, $3), ($2, $3)`,
              [batchId, asked, encodeText(id)],
            );
            return false;
          } catch (error) {
            if (!isDuplicateFlush(error)) throw error;
          }
          const earlier = await client.query(`SELECT 1 FROM ${ctx.t.flushes} WHERE batch_id = $1`, [
            asked,
          ]);
          return (earlier.rowCount ?? 0) === 0;
        }),
    );
  } catch (error) {
    throw new OutcomeUnknownError(
      `checkpoint "${id}": the connection broke while committing (${(cause as Error).message}) and the server could not be asked whether it committed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The id a question about `batchId` takes beside it: a uuid derived from it, never a batch's. */
export function askedId(batchId: string): string {
  const hex = createHash('sha256').update(`checkpointkit:asked:${batchId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

async function inTransaction<T>(
  client: pg.PoolClient,
  work: () => Promise<T>,
  onCommitBroken: () => void,
): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await work();
    try {
      await client.query('COMMIT');
    } catch (error) {
      if (isConnectionError(error)) onCommitBroken();
      throw error;
    }
    return value;
  } catch (error) {
    if (!isConnectionError(error)) await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
