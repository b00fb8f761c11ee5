import { hostname } from 'node:os';
import {
  type CheckpointListing,
  CheckpointLockedError,
  type CheckpointStore,
  type ClaimRequest,
  type ClaimResult,
  type JoinOptions,
  type Json,
  type WorkerHold,
} from '@checkpointkit/core';
import pg from 'pg';
import { applyChanges } from './apply.js';
import { claimFreeUnits } from './claim.js';
import { encodeText } from './codec.js';
import { commit, type WriteContext } from './commit.js';
import { PostgresStoreError } from './errors.js';
import { acquireHold, type Hold, type HoldContext, withClient } from './holds.js';
import { DEFAULT_SCHEMA } from './identifiers.js';
import { type MigrateResult, type Migration, migrate } from './migrate.js';
import { listCheckpoints, loadCheckpoint } from './read.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { listSessions, type SessionRecord } from './sessions.js';
import { tables } from './tables.js';
import { type PostgresTransaction, runTransaction } from './transaction.js';

export type { PostgresTransaction } from './transaction.js';

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

  const write: WriteContext = { pool, t, policy };

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
        write,
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
      return claimFreeUnits(write, id, request);
    },

    async transaction(id, work) {
      await ready();
      const hold = holds.get(id);
      await hold?.check();
      return runTransaction(write, hold, id, work);
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
