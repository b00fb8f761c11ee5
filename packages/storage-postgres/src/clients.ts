import type pg from 'pg';
import { isConnectionError, reasonOf } from './retry.js';

/**
 * Watches a pooled client for the error pg emits when the server ends its connection. The first
 * one says why (an idle timeout, a terminate); "Connection terminated unexpectedly" follows as
 * the socket closes. `release` drops a client whose connection broke instead of pooling it.
 */
export function watchConnection(client: pg.PoolClient): {
  /** Records that the connection broke, when a statement found out first. */
  broke(error: Error): void;
  /** What to throw for `error`: on a broken connection, the server's reason when it gave one. */
  failure(error: unknown): unknown;
  release(): void;
} {
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  return {
    broke(error) {
      broken ??= error;
    },
    failure(error) {
      if (!isConnectionError(error)) return error;
      const reason = reasonOf(error, broken);
      broken ??= error as Error;
      return reason;
    },
    release() {
      client.off('error', onError);
      client.release(broken);
    },
  };
}

export async function withClient<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  const connection = watchConnection(client);
  try {
    return await work(client);
  } catch (error) {
    throw connection.failure(error);
  } finally {
    connection.release();
  }
}
