import type { Sink, SinkContext, SinkResult } from '@checkpointkit/core';
import type pg from 'pg';
import { PostgresStoreError } from './errors.js';

/** Writes one page of items through the client of the transaction that also commits the page's cursor. */
export type TransactionalWrite<Item> = (
  client: pg.PoolClient,
  items: readonly Item[],
  context: SinkContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a write may return nothing
) => Promise<SinkResult | void> | SinkResult | void;

/**
 * A sink that writes into the same PostgreSQL database as the store, exactly-once: the pipeline
 * opens a transaction per page, `write` inserts the page's rows through its client, and the
 * page's cursor (with everything else the run has buffered) is appended in that same
 * transaction before it commits. A kill -9 at any moment leaves either both or neither, so a
 * resumed pipeline never writes a page twice and never skips one.
 *
 * ```ts
 * const sink = transactionalSink<Tweet>(async (client, tweets) => {
 *   await client.query('INSERT INTO tweets (id, body) SELECT * FROM unnest($1::text[], $2::text[])', [
 *     tweets.map((t) => t.id), tweets.map((t) => t.body),
 *   ]);
 * });
 * ```
 */
export function transactionalSink<Item>(
  write: TransactionalWrite<Item>,
  options: { close?: () => Promise<void> | void } = {},
): Sink<Item> {
  return {
    transactional: true,
    async write(items, context) {
      const client = context.transaction as pg.PoolClient | undefined;
      if (!client) {
        throw new PostgresStoreError(
          'transactionalSink: no transaction to write in; run the pipeline on a postgresStore (its run has transactions)',
        );
      }
      return (await write(client, items, context)) ?? undefined;
    },
    ...(options.close && { close: options.close }),
  };
}
