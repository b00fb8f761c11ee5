import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type Change,
  type CheckpointListing,
  CheckpointLockedError,
  type CheckpointStore,
  type ClaimRequest,
  type ClaimResult,
  type JoinOptions,
  type Json,
  type StoreTransaction,
  type WorkerHold,
} from '@checkpointkit/core';
import pg from 'pg';
import { applyChanges } from './apply.js';
import { encodeText } from './codec.js';
import { OutcomeUnknownError, PostgresStoreError } from './errors.js';
import { acquireHold, type Hold, type HoldContext, withClient } from './holds.js';
import { DEFAULT_SCHEMA } from './identifiers.js';
import { type MigrateResult, type Migration, migrate } from './migrate.js';
import { listCheckpoints, loadCheckpoint } from './read.js';
import {
  backoff,
  DEFAULT_RETRY,
  isConnectionError,
  isDuplicateFlush,
  isTransient,
  type RetryPolicy,
} from './retry.js';
import { keyFromRow, UNIT_COLUMNS, type UnitRow, unitFromRow } from './rows.js';
import { failWorkers, listSessions, type SessionRecord } from './sessions.js';
import { tables } from './tables.js';

export interface PostgresStoreOptions {
  /** A `postgres://` URL. Default: the DATABASE_URL environment variable. Ignored with `pool`. */
  connectionString?: string;
  /** A pool of your own (the store does not end it on close). Default: one the store makes. */
  pool?: pg.Pool;
  /** The schema that holds the store's tables. Default `checkpointkit`. Validated, always quoted. */
  schema?: string;
  /** Connections in the pool the store makes. Default 10. */
  maxConnections?: number;
  /** `application_name` of the store's connections (shown in pg_stat_activity). Default `checkpointkit`. */
  applicationName?: string;
  /** Run the migrations on first use (under an advisory lock). Default true. */
  migrate?: boolean;
  /** Recorded in the `options` column of every session this store starts (no secrets here). */
  sessionOptions?: Record<string, Json>;
  /** Tries of a flush that failed on a broken connection, a deadlock or a serialization failure. */
  retry?: Partial<RetryPolicy>;
}

/** A {@link CheckpointStore} on PostgreSQL, with worker mode and transactions. */
export interface PostgresStore extends CheckpointStore {
  /** The pool the store queries through. */
  readonly pool: pg.Pool;
  /** The schema name (unquoted). */
  readonly schema: string;
  /** Applies the migrations that are not applied yet. Runs by itself on first use. */
  migrate(): Promise<MigrateResult>;
  /** The sessions (one per run) of a checkpoint, or of every checkpoint, oldest first. */
  sessions(id?: string): Promise<SessionRecord[]>;
  join(id: string, options: JoinOptions): Promise<WorkerHold>;
  claimUnits(id: string, request: ClaimRequest): Promise<ClaimResult>;
  transaction<T>(id: string, work: (tx: PostgresTransaction) => Promise<T>): Promise<T>;
  /** Releases the holds still open and ends the pool (when the store made it). */
  close(): Promise<void>;
}

/** A transaction of the PostgreSQL store: `client` is the `pg` client it runs on. */
export interface PostgresTransaction extends StoreTransaction {
  readonly client: pg.PoolClient;
}

/**
 * A PostgreSQL store for CheckpointKit. Checkpoints, units, id maps, counters and sessions live
 * in tables of their own schema; a flush is one transaction of a few multi-row statements;
 * locks are advisory locks, so a dead process never blocks a checkpoint; many workers can share
 * one checkpoint (`openRun({ worker })`), claiming units with `FOR UPDATE SKIP LOCKED` and a
 * lease; a sink that writes into the same database can commit its rows with the checkpoint's
 * changes (`transactionalSink`, `run.transaction`).
 *
 * ```ts
 * const store = postgresStore({ schema: 'crawler' }); // DATABASE_URL
 * const run = await openRun({ id: 'twitter:bookmarks/user123', store });
 * ```
 */
export function postgresStore(options: PostgresStoreOptions = {}): PostgresStore {
  const t = tables(options.schema ?? DEFAULT_SCHEMA);
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? makePool(options);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const ctx: HoldContext = {
    pool,
    t,
    host: hostname(),
    pid: process.pid,
    sessionOptions: options.sessionOptions ?? {},
  };
  const holds = new Map<string, Hold>();
  let migrated: Promise<unknown> | null = options.migrate === false ? Promise.resolve() : null;
  let closed = false;

  const runMigrations = (migrations?: readonly Migration[]) =>
    migrate({ pool, schema: t.name, ...(migrations && { migrations }) });
  const ready = async (): Promise<void> => {
    if (closed) throw new PostgresStoreError(`${store.description} is closed`);
    migrated ??= runMigrations().catch((error: unknown) => {
      migrated = null;
      throw error;
    });
    await migrated;
  };

  const track = (hold: Hold): Hold => {
    holds.set(hold.id, hold);
    const release = hold.release.bind(hold);
    hold.release = async () => {
      try {
        await release();
      } finally {
        if (holds.get(hold.id) === hold) holds.delete(hold.id);
      }
    };
    return hold;
  };

  const refuseSecondHold = (id: string) => {
    const held = holds.get(id);
    if (held) throw new CheckpointLockedError(id, held.owner);
  };

  /**
   * Runs a write transaction, retrying it when the connection broke or the server rolled it back.
   * The batch id makes a retry of a transaction that did commit fail on the flushes table's key,
   * which tells that it committed; `onDuplicate` then gives the result.
   */
  async function commit<T>(
    id: string,
    work: (client: pg.PoolClient, batchId: string) => Promise<T>,
    onDuplicate: (batchId: string) => Promise<T>,
  ): Promise<T> {
    const batchId = randomUUID();
    let last: unknown;
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      try {
        return await withClient(pool, (client) =>
          inTransaction(client, () => work(client, batchId)),
        );
      } catch (error) {
        if (isDuplicateFlush(error)) return onDuplicate(batchId);
        if (!isTransient(error)) throw error;
        last = error;
        if (attempt < policy.attempts) await backoff(attempt, policy);
      }
    }
    if (isConnectionError(last) && (await committed(id, batchId, last)))
      return onDuplicate(batchId);
    throw new PostgresStoreError(
      `checkpoint "${id}": gave up after ${policy.attempts} tries: ${(last as Error).message}`,
      { cause: last },
    );
  }

  /**
   * Whether a transaction whose commit broke did commit: its batch id is inserted on its own.
   * A clash means it committed; success means it did not, and never will (the id is taken).
   */
  async function committed(id: string, batchId: string, cause: unknown): Promise<boolean> {
    try {
      await withClient(pool, (client) =>
        client.query(`INSERT INTO ${t.flushes} (batch_id, checkpoint) VALUES ($1, $2)`, [
          batchId,
          encodeText(id),
        ]),
      );
      return false;
    } catch (error) {
      if (isDuplicateFlush(error)) return true;
      throw new OutcomeUnknownError(
        `checkpoint "${id}": the connection broke while committing and the server cannot be asked whether it committed: ${(cause as Error).message}`,
        { cause: error },
      );
    }
  }

  const store: PostgresStore = {
    description: `PostgreSQL store (schema "${t.name}")`,
    pool,
    schema: t.name,

    async migrate() {
      if (closed) throw new PostgresStoreError(`${store.description} is closed`);
      const result = await runMigrations();
      migrated = Promise.resolve();
      return result;
    },

    async load(id) {
      await ready();
      return withClient(pool, (client) => loadCheckpoint(client, t, id));
    },

    async append(id, changes) {
      if (changes.length === 0) return;
      await ready();
      const hold = holds.get(id);
      await hold?.check();
      await commit(
        id,
        async (client, batchId) => {
          const result = await applyChanges(client, t, id, changes, {
            batchId,
            worker: hold?.worker ?? null,
            session: hold?.sessionId ?? null,
            // Changes to units another worker took over are stale: the new owner does them again.
            fence: 'drop',
          });
          if (hold && result.lastFailure !== null) hold.lastFailure = result.lastFailure;
        },
        async () => {},
      );
    },

    async compact(id) {
      await ready();
      // The tables are the snapshot: only the record of old flushes is trimmed.
      await pool.query(
        `DELETE FROM ${t.flushes} WHERE checkpoint = $1 AND at < now() - interval '1 hour'`,
        [encodeText(id)],
      );
    },

    async list(): Promise<CheckpointListing[]> {
      await ready();
      return withClient(pool, (client) => listCheckpoints(client, t));
    },

    async delete(id) {
      await ready();
      const cid = encodeText(id);
      const result = await pool.query(
        `WITH f AS (DELETE FROM ${t.flushes} WHERE checkpoint = $1)
         DELETE FROM ${t.checkpoints} WHERE id = $1`,
        [cid],
      );
      return (result.rowCount ?? 0) > 0;
    },

    async lock(id) {
      await ready();
      refuseSecondHold(id);
      return track(await acquireHold(ctx, id, null));
    },

    async join(id, join) {
      await ready();
      refuseSecondHold(id);
      return track(await acquireHold(ctx, id, join));
    },

    async claimUnits(id, request) {
      await ready();
      const hold = holds.get(id);
      if (!hold?.worker || hold.worker.id !== request.worker) {
        throw new PostgresStoreError(
          `checkpoint "${id}": worker ${request.worker} has not joined it through this store`,
        );
      }
      await hold.check();
      const worker = { id: request.worker, leaseMs: request.leaseMs };
      const cid = encodeText(id);
      const at = new Date().toISOString();
      /** Unfinished units other workers hold under a live lease, and the first expiry among them. */
      const leasedElsewhere = async (client: pg.ClientBase) => {
        const result = await client.query<{ n: number; next: Date | null }>(
          `SELECT count(*)::int AS n, min(lease_expires_at) AS next FROM ${t.units}
           WHERE checkpoint = $1 AND lease_owner IS NOT NULL AND lease_owner <> $2
             AND lease_expires_at > now() AND status IN ('pending', 'in_progress')`,
          [cid, request.worker],
        );
        const row = result.rows[0];
        return { leasedElsewhere: row?.n ?? 0, nextExpiry: row?.next?.toISOString() ?? null };
      };
      const claimed = await commit(
        id,
        async (client, batchId) => {
          // Right after a large plan the table's statistics are stale, and the planner would sort
          // every open unit to pick a few: walk the (checkpoint, seq) index in order instead.
          await client.query('SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off');
          const free = await client.query<{ key: string; lease_owner: string | null }>(
            `SELECT key, lease_owner FROM ${t.units}
             WHERE checkpoint = $1
               AND (lease_owner IS NULL OR lease_expires_at <= now())
               AND (status IN ('pending', 'in_progress')
                    OR (status = 'failed' AND $3::bool
                        AND ($4::bool OR (error ->> 'retryable')::bool)
                        AND ($5::text IS NULL OR error ->> 'at' < $5)))
             ORDER BY seq
             LIMIT $2
             FOR UPDATE SKIP LOCKED`,
            [
              cid,
              request.limit,
              request.retryFailed === true || request.retryFailed === 'retryable',
              request.retryFailed === true,
              request.failedBefore ?? null,
            ],
          );
          const others = await leasedElsewhere(client);
          await client.query('RESET enable_sort; RESET enable_bitmapscan');
          if (free.rows.length === 0) return { units: [], others };
          const keys = free.rows.map(keyFromRow);
          const expired = new Set(free.rows.map((row) => row.lease_owner));
          expired.delete(null);
          expired.delete(request.worker);
          if (expired.size > 0) await failWorkers(client, t, cid, [...expired] as string[]);
          const started: Change[] = keys.map((key) => ({ type: 'unit.started', at, key }));
          const result = await applyChanges(client, t, id, started, {
            batchId,
            worker,
            session: null,
          });
          return { units: keys.map((key) => ({ key, unit: result.units.get(key)! })), others };
        },
        // The claim committed before its connection broke: its units are the ones it started.
        async () => {
          const rows = await pool.query<UnitRow>(
            `SELECT ${UNIT_COLUMNS} FROM ${t.units}
             WHERE checkpoint = $1 AND lease_owner = $2 AND started_at = $3 ORDER BY seq`,
            [cid, request.worker, at],
          );
          const units = rows.rows.map((row) => ({ key: keyFromRow(row), unit: unitFromRow(row) }));
          return { units, others: await withClient(pool, leasedElsewhere) };
        },
      );
      return { units: claimed.units, ...claimed.others };
    },

    async transaction(id, work) {
      await ready();
      const hold = holds.get(id);
      await hold?.check();
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on('error', onError);
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
            });
            lastFailure = result.lastFailure ?? lastFailure;
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
          broken ??= error as Error;
          if (!(await committed(id, lastBatch, error))) throw error;
        }
        if (hold && lastFailure !== null) hold.lastFailure = lastFailure;
        return value;
      } catch (error) {
        if (isConnectionError(error)) broken ??= error as Error;
        else await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },

    async sessions(id) {
      await ready();
      return withClient(pool, (client) =>
        listSessions(client, t, id === undefined ? null : encodeText(id)),
      );
    },

    async close() {
      if (closed) return;
      for (const hold of [...holds.values()]) await hold.release().catch(() => {});
      closed = true;
      if (ownPool) await pool.end();
    },
  };
  return store;
}

function makePool(options: PostgresStoreOptions): pg.Pool {
  const connectionString = options.connectionString ?? process.env['DATABASE_URL'];
  if (!connectionString) {
    throw new PostgresStoreError(
      'postgresStore: no database given: pass connectionString or pool, or set DATABASE_URL',
    );
  }
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'checkpointkit',
  });
  // A pooled connection that the server closes while idle is dropped and replaced; without a
  // listener its error would end the process.
  pool.on('error', () => {});
  return pool;
}

async function inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await work();
    await client.query('COMMIT');
    return value;
  } catch (error) {
    if (!isConnectionError(error)) await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
