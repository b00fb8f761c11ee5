import { hostname } from 'node:os';
import {
  type Change,
  CheckpointError,
  type CheckpointListing,
  CheckpointLockedError,
  type CheckpointStore,
  type ClaimRequest,
  type ClaimResult,
  type JoinOptions,
  type Json,
  UnitTakenOverError,
  type WorkerHold,
} from '@checkpointkit/core';
import type pg from 'pg';
import { acquireHold } from './acquire.js';
import { applyChanges } from './apply.js';
import { CARRY_ON } from './apply-units.js';
import { claimFreeUnits } from './claim.js';
import { withClient } from './clients.js';
import { encodeText } from './codec.js';
import { commit, type WriteContext } from './commit.js';
import { hintOf, PostgresStoreError, refusal } from './errors.js';
import type { Hold, HoldContext } from './holds.js';
import { DEFAULT_SCHEMA } from './identifiers.js';
import { checkChange, checkId } from './limits.js';
import { applyMigrations, checkMigrated, type MigrateResult } from './migrate.js';
import { describePool, makePool } from './pool.js';
import { poolerError } from './pooler.js';
import { listCheckpoints, loadCheckpoint } from './read.js';
import { DEFAULT_RETRY, type RetryPolicy, retrying, type StorePolicy } from './retry.js';
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
  /**
   * How long the store retries through a broken connection, a server restart, a deadlock or a
   * serialization failure, and through refusals that pass (a read-only server, too many
   * connections, a statement cancelled by statement_timeout or lock_timeout while another
   * session locks the store's tables) before it gives up with `DatabaseUnavailableError`
   * (default: 30 s, pauses up to 1 s). Every operation retries: flushes, transactions (their
   * work runs again), claims, loads, listings, `delete`, `compact`, migrations, taking the lock,
   * and taking it again when its connection broke. Once the store gave up, later operations make
   * two tries until one succeeds (a run's `close()` does not wait out the bound again). A
   * refusal that does not pass (a privilege revoked, a table of the store dropped or altered)
   * stops the run at once with `DatabaseRefusedError`.
   */
  retry?: Partial<RetryPolicy>;
  /**
   * How long connecting may take (the TCP connection and the server's first answer). Default:
   * the URL's `connect_timeout` (seconds), else 10,000 ms. 0: no limit.
   */
  connectTimeoutMs?: number;
  /**
   * How long one statement may run before the server cancels it (`statement_timeout`), and, a
   * few seconds later, the store stops waiting for its answer. Applies to a transactional sink's
   * statements too. A cancelled statement's transaction is tried again within `retry`.
   * Default: the URL's `statement_timeout` (milliseconds), else 60,000 ms. 0: no limit.
   */
  statementTimeoutMs?: number;
}

/** A {@link CheckpointStore} on PostgreSQL, with worker mode and transactions. */
export interface PostgresStore extends CheckpointStore {
  /** The pool the store queries through. */
  readonly pool: pg.Pool;
  /** The schema name (unquoted). */
  readonly schema: string;
  /**
   * Applies the migrations that are not applied yet, through transient failures (another
   * worker's lock past lock_timeout, a terminated connection) within `retry`. Runs by itself on
   * first use.
   */
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
  const policy: StorePolicy = { ...DEFAULT_RETRY, ...options.retry, gaveUp: false };
  // Where pg connects with the pool's options, read once the pool is made (its string checked).
  const target = describePool(pool);
  const ctx: HoldContext = {
    pool,
    policy,
    t,
    host: hostname(),
    pid: process.pid,
    sessionOptions: options.sessionOptions ?? {},
  };
  const holds = new Map<string, Hold>();
  let migrated: Promise<unknown> | null = null;
  let closed = false;

  /**
   * Runs one statement or a few (a read, a lock, a delete, the migrations) through transient
   * failures, naming what it did when it fails. Only for work that may run again as it is.
   */
  const retried = <T>(doing: string, work: () => Promise<T>): Promise<T> =>
    retrying(policy, `${doing} on ${target}`, work).catch((error: unknown) => {
      throw poolerError(error, target) ?? inContext(error, `${doing} on ${target}`);
    });
  const assertOpen = () => {
    if (closed) throw new PostgresStoreError(`${store.description} is closed`);
  };
  // Each migration runs in a transaction of its own under the migration lock, and is recorded
  // in that transaction: a try cut short (another worker's lock past lock_timeout, a terminated
  // connection) leaves nothing half done, and the next try applies what is left.
  const runMigrations = () =>
    retried(`migrating schema "${t.name}"`, () => applyMigrations({ pool, schema: t.name }));
  const checkMigrations = () =>
    retried(`checking the migrations of schema "${t.name}"`, () =>
      checkMigrated({ pool, schema: t.name }),
    );
  const ready = async (): Promise<void> => {
    assertOpen();
    migrated ??= (options.migrate === false ? checkMigrations() : runMigrations()).catch(
      (error: unknown) => {
        migrated = null;
        throw error;
      },
    );
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
      assertOpen();
      const result = await runMigrations();
      migrated = Promise.resolve();
      return result;
    },

    /**
     * Refuses a value the tables cannot hold ({@link PostgresLimitError}), and a change that works
     * on a unit of a run whose heartbeat the server refused for good (the refusal, a
     * {@link DatabaseRefusedError}): the run records such a change on every page, so it stops at
     * its next page instead of working units it may no longer hold until its next save. Other
     * changes pass (closing a run records its status, and must reach its release).
     */
    validateChange(id, change) {
      checkChange(id, change);
      const hold = holds.get(id);
      const refused = hold?.refused;
      if (refused && UNIT_WORK.has(change.type)) throw refused;
      // A unit a save found no longer this worker's: its work is refused until it claims it again.
      if (hold?.worker && CARRY_ON.has(change.type) && hold.takenOver.has((change as Keyed).key))
        throw new UnitTakenOverError(id, (change as Keyed).key, hold.worker.id);
    },

    async load(id) {
      checkId(id);
      await ready();
      const hold = holds.get(id);
      const held = hold && { worker: hold.worker !== null };
      return retried(`loading checkpoint "${id}"`, () =>
        withClient(pool, (client) => loadCheckpoint(client, t, id, held)),
      );
    },

    async append(id, changes) {
      if (changes.length === 0) return;
      await ready();
      const hold = holds.get(id);
      await hold?.check();
      await commit(
        write,
        id,
        'saving',
        async (client, batchId) => {
          const result = await applyChanges(client, t, id, changes, {
            batchId,
            worker: hold?.worker ?? null,
            session: hold?.sessionId ?? null,
            ...(hold && { held: 'saving' }),
          });
          if (hold && result.lastFailure !== null) hold.lastFailure = result.lastFailure;
          // Changes to units that are no longer this worker's were left out: their new owner
          // does that work again (at-least-once for a sink outside the database). This run's
          // next work on them is refused (validateChange), so the worker lets them go.
          for (const key of result.dropped) hold?.takenOver.add(key);
        },
        async () => {},
      );
    },

    async compact(id) {
      await ready();
      // The tables are the snapshot: only the record of old flushes is trimmed.
      await retried(`compacting checkpoint "${id}"`, () =>
        pool.query(
          `DELETE FROM ${t.flushes} WHERE checkpoint = $1 AND at < now() - interval '1 hour'`,
          [encodeText(id)],
        ),
      );
    },

    async list(): Promise<CheckpointListing[]> {
      await ready();
      return retried('listing checkpoints', () =>
        withClient(pool, (client) => listCheckpoints(client, t)),
      );
    },

    async delete(id) {
      await ready();
      const cid = encodeText(id);
      // One statement, so a try that did not commit left the checkpoint whole. A try whose
      // reply was lost after it committed makes the next one find nothing: false.
      const result = await retried(`deleting checkpoint "${id}"`, () =>
        pool.query(
          `WITH f AS (DELETE FROM ${t.flushes} WHERE checkpoint = $1)
           DELETE FROM ${t.checkpoints} WHERE id = $1`,
          [cid],
        ),
      );
      return (result.rowCount ?? 0) > 0;
    },

    async lock(id) {
      checkId(id);
      await ready();
      refuseSecondHold(id);
      const ours = new Set<number>();
      return track(
        await retried(`locking checkpoint "${id}"`, () => acquireHold(ctx, id, null, ours)),
      );
    },

    async join(id, join) {
      checkId(id);
      await ready();
      refuseSecondHold(id);
      const ours = new Set<number>();
      return track(
        await retried(`joining checkpoint "${id}"`, () => acquireHold(ctx, id, join, ours)),
      );
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
      const claimed = await claimFreeUnits(write, id, request);
      for (const { key } of claimed.units) hold.takenOver.delete(key);
      return claimed;
    },

    async transaction(id, work) {
      await ready();
      const hold = holds.get(id);
      await hold?.check();
      return runTransaction(write, hold, id, work);
    },

    async sessions(id) {
      await ready();
      const doing = id === undefined ? 'listing the sessions' : `listing the sessions of "${id}"`;
      return retried(doing, () =>
        withClient(pool, (client) =>
          listSessions(client, t, id === undefined ? null : encodeText(id)),
        ),
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

/** Changes that record work on a unit: refused once the run's heartbeat was refused. */
const UNIT_WORK = new Set<Change['type']>(['unit.started', 'unit.progressed', 'unit.completed']);
type Keyed = Extract<Change, { key: string }>;

/**
 * A driver error wrapped with what the store was doing and where: a {@link DatabaseRefusedError}
 * when the server refused a statement, else a PostgresStoreError (with what a connection setting
 * that cannot work means, see {@link hintOf}). Store errors pass as they are.
 */
function inContext(error: unknown, doing: string): unknown {
  if (error instanceof CheckpointError) return error;
  const refused = refusal(error, `postgresStore: ${doing}`);
  if (refused !== error) return refused;
  const message = error instanceof Error ? error.message : String(error);
  // pg's words for a setting that cannot work (SSL the server lacks, no password) say little.
  const hint = hintOf(error);
  return new PostgresStoreError(
    `postgresStore: ${doing}: ${message}${hint === undefined ? '' : ` (${hint})`}`,
    { cause: error },
  );
}
