import { type Json, LockLostError, type LockOwner, type WorkerHold } from '@checkpointkit/core';
import type pg from 'pg';
import type { WorkerContext } from './apply.js';
import { withClient } from './clients.js';
import { encodeText } from './codec.js';
import { DatabaseRefusedError, DatabaseUnavailableError, refusal } from './errors.js';
import { passingHold, tryLock } from './locks.js';
import { beginPinned, commitPinned, endPinned, rollbackPinned } from './pinned.js';
import { isConnectionError, isTransient, retrying, type StorePolicy } from './retry.js';
import { endSession, failDeadSessions, type SessionStart, startSession } from './sessions.js';
import type { Tables } from './tables.js';

export interface HoldContext {
  pool: pg.Pool;
  /** How long to keep trying to take the lock again after its connection broke. */
  policy: StorePolicy;
  t: Tables;
  host: string;
  pid: number;
  sessionOptions: Record<string, Json>;
}

/** How often an exclusive run's session records that it is alive. */
const EXCLUSIVE_HEARTBEAT_MS = 5000;

/**
 * A run's hold on a checkpoint: a PostgreSQL advisory lock (exclusive for a run alone, shared
 * for workers) on a connection kept for the run, and the run's session row. That connection
 * stays inside a transaction for the run's life, so that a transaction-pooling proxy keeps it on
 * the backend that holds the lock (see pinned.ts). The server drops
 * the lock when that connection dies, so a crashed process never blocks the checkpoint. A
 * heartbeat on the same connection keeps the session (and a worker's leases) alive; if the
 * connection breaks, the hold keeps trying to take the lock again on a new connection for as
 * long as the store's retry policy allows (a server restart, a terminated backend), and is lost
 * if another run took it meanwhile or the outage lasts longer.
 */
export class Hold implements WorkerHold {
  readonly id: string;
  readonly cid: string;
  readonly owner: LockOwner;
  readonly created: boolean;
  readonly sessionId: string;
  readonly worker: WorkerContext | null;
  /** The message of the last unit failure this run flushed, for its session row. */
  lastFailure: string | null = null;
  /**
   * Worker mode: units a flush of this worker found no longer its own (their changes were left
   * out: taken over, finished or let go by others), until it claims one of them again. The run's
   * next work on one is refused at once ({@link UnitTakenOverError}), so that the worker lets it
   * go instead of working it to its end for nothing.
   */
  readonly takenOver = new Set<string>();
  readonly #ctx: HoldContext;
  readonly #key: string;
  readonly #session: SessionStart;
  #client: pg.PoolClient | null;
  /** The server process of {@link #client}, which holds the lock (from pg_backend_pid()). */
  #backend: number | null;
  #lost: LockLostError | DatabaseUnavailableError | DatabaseRefusedError | null = null;
  #recovering: Promise<void> | null = null;
  #beat: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval>;
  #released = false;
  readonly #onError = (error: Error) => this.#broken(error);

  /** @internal use {@link acquireHold}. */
  constructor(init: {
    ctx: HoldContext;
    id: string;
    key: string;
    client: pg.PoolClient;
    backend: number;
    owner: LockOwner;
    created: boolean;
    session: SessionStart;
    worker: WorkerContext | null;
  }) {
    this.#ctx = init.ctx;
    this.id = init.id;
    this.cid = encodeText(init.id);
    this.#key = init.key;
    this.#client = init.client;
    this.#backend = init.backend;
    this.owner = init.owner;
    this.created = init.created;
    this.#session = init.session;
    this.sessionId = init.session.sessionId;
    this.worker = init.worker;
    init.client.on('error', this.#onError);
    const every = this.worker ? Math.max(20, this.worker.leaseMs / 3) : EXCLUSIVE_HEARTBEAT_MS;
    let beating = false;
    this.#timer = setInterval(() => {
      if (beating || this.#recovering || this.#lost || this.#released) return;
      beating = true;
      this.#beat = this.#heartbeat().finally(() => {
        beating = false;
      });
    }, every);
    this.#timer.unref?.();
  }

  /**
   * Resolves while the hold is good; rejects once it is gone: with {@link LockLostError}, with
   * {@link DatabaseUnavailableError} when the server stayed down too long to take it again, or
   * with {@link DatabaseRefusedError} when the server refused its heartbeat for good.
   */
  async check(): Promise<void> {
    if (this.#recovering) await this.#recovering;
    if (this.#lost) throw this.#lost;
    if (this.#released) throw new LockLostError(this.id, 'the run already released it');
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    await this.#beat;
    if (this.#recovering) await this.#recovering.catch(() => {});
    const client = this.#client;
    this.#client = null;
    const { t } = this.#ctx;
    const work = async (db: pg.ClientBase) => {
      // clock_timestamp(), not now(): on the hold's connection, which stays in a chained
      // transaction (pinned.ts), now() is when the previous heartbeat committed.
      if (this.worker) {
        await db.query(
          `UPDATE ${t.units} u SET lease_owner = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
           FROM (${leasedTo(t)}) mine
           WHERE u.checkpoint = $1 AND u.key = mine.key`,
          [this.cid, this.worker.id],
        );
      }
      await endSession(db, t, this.sessionId, this.cid, this.lastFailure);
      // Workers killed before they claimed anything leave only a session: end those too.
      if (this.worker) await failDeadSessions(db, t, this.cid);
      await db.query(
        `DELETE FROM ${t.flushes} WHERE checkpoint = $1 AND at < now() - interval '1 hour'`,
        [this.cid],
      );
    };
    if (client && !this.#lost) {
      try {
        await work(client);
        // Committed while the lock is held, then unlocked on the backend that holds it, still
        // inside a transaction: only then may a pooler hand that backend to another client.
        await commitPinned(client);
        const unlock = this.worker ? 'pg_advisory_unlock_shared' : 'pg_advisory_unlock';
        await client.query(`SELECT ${unlock}(hashtextextended($1, 0))`, [this.#key]);
        await endPinned(client);
        client.off('error', this.#onError);
        client.release();
        return;
      } catch (error) {
        client.off('error', this.#onError);
        // Closing the connection drops its locks.
        client.release(error instanceof Error ? error : true);
      }
    } else if (client) {
      client.off('error', this.#onError);
      client.release(true);
    }
    // The hold's connection is gone (or its statement was refused, a lock timeout): record the
    // end of the session on another one, through transient failures like a flush, so that the
    // session does not read as failed and a worker's units go to the others without waiting
    // for its leases to expire. Two tries only when the store gave up on the server already.
    // Not thrown: the run is over either way, and the next run or worker ends a session left
    // running once its heartbeat is missed.
    await retrying(this.#ctx.policy, `checkpoint "${this.id}": ending its session`, () =>
      withClient(this.#ctx.pool, work),
    ).catch(() => {});
  }

  async #heartbeat(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const { t } = this.#ctx;
    // clock_timestamp(), not now(): this connection stays in a chained transaction (pinned.ts),
    // where now() is when the previous beat committed, a whole interval ago.
    try {
      if (this.worker) {
        await client.query(
          `UPDATE ${t.units} u SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond',
             updated_at = clock_timestamp()
           FROM (${leasedTo(t)}) mine
           WHERE u.checkpoint = $1 AND u.key = mine.key`,
          [this.cid, this.worker.id, this.worker.leaseMs],
        );
      }
      const beat = await client.query(
        `UPDATE ${t.sessions} SET heartbeat_at = clock_timestamp() WHERE session_id = $1`,
        [this.sessionId],
      );
      // Its row was deleted (a retention job, a DBA): written again as the run started it, not
      // a reason to stop. It is a record that nothing the run does depends on, and a long job
      // outlives retention windows; only its counts before that are lost.
      if (beat.rowCount === 0) await startSession(client, t, this.#session, this.owner.since);
      await commitPinned(client);
    } catch (error) {
      if (isConnectionError(error)) {
        this.#broken(error as Error);
        return;
      }
      // The failed statement aborted the connection's transaction: roll it back into a new one
      // (the lock is session-level and stays), or the connection is gone.
      const rolledBack = await rollbackPinned(client).then(
        () => true,
        (cause: unknown) => {
          this.#broken(cause instanceof Error ? cause : new Error(String(cause)));
          return false;
        },
      );
      if (rolledBack && !isTransient(error)) this.#refused(error);
      // Anything else (a lock or statement timeout, a read-only server) may pass: the next beat
      // tries again, and the run's saves meet it within the retry bound.
    }
  }

  /**
   * The refusal that ended the hold when the server refused its heartbeat for good, else null.
   * The store's `validateChange` throws it for a change that works on a unit, so that the run
   * stops at its next page rather than at its next save.
   */
  get refused(): DatabaseRefusedError | null {
    return this.#lost instanceof DatabaseRefusedError ? this.#lost : null;
  }

  /**
   * The server refused the heartbeat for a reason no retry fixes (a privilege revoked, a table
   * or column of the store dropped): the session and a worker's leases can no longer be kept
   * alive, so other workers take its units over once the leases expire. The hold is lost with
   * the refusal, as a flush's refusal stops a run, rather than the run working those units on
   * until its next save meets it.
   */
  #refused(error: unknown): void {
    const alive = this.worker ? 'its session and leases' : 'its session';
    const refused = refusal(
      error,
      `checkpoint "${this.id}": heartbeat (keeping ${alive} alive) in schema "${this.#ctx.t.name}"`,
    );
    if (refused instanceof DatabaseRefusedError && !this.#lost && !this.#released) {
      this.#lost = refused;
    }
  }

  #broken(error: Error): void {
    if (this.#released || this.#recovering || this.#lost) return;
    const client = this.#client;
    this.#client = null;
    if (client) {
      client.off('error', this.#onError);
      client.release(error);
    }
    this.#recovering = this.#recover(error, this.#backend)
      .catch((cause: unknown) => {
        // A server that stayed down longer than the retry bound is an outage, reported as the
        // flushes report it (the run stops with DatabaseUnavailableError whichever noticed
        // first); one that refuses to let the store in again (its role disabled or its password
        // changed by a credential rotation, 28xxx) is a refusal, as a flush reports it; a lock
        // another run took meanwhile is a lost lock.
        const refused = refusal(
          cause,
          `checkpoint "${this.id}": taking its lock again after its connection broke, in schema "${this.#ctx.t.name}"`,
        );
        this.#lost =
          cause instanceof DatabaseUnavailableError
            ? cause
            : refused instanceof DatabaseRefusedError
              ? refused
              : new LockLostError(
                  this.id,
                  `the connection that held it broke (${error.message}) and it could not be taken again`,
                  { cause },
                );
      })
      .finally(() => {
        this.#recovering = null;
      });
  }

  /** `formerBackend`: the server process of the broken connection, which held the lock. */
  async #recover(error: Error, formerBackend: number | null): Promise<void> {
    const { pool, t, policy } = this.#ctx;
    // Every backend this recovery tried the lock on is ours too: a try that took the lock and
    // then lost its connection leaves it held by that backend until the server notices (CI saw
    // a second cut, one statement after the first, end in "another run holds it").
    const ours = new Set<number>(formerBackend === null ? [] : [formerBackend]);
    await retrying(
      policy,
      `checkpoint "${this.id}": taking the lock again after its connection broke (${error.message})`,
      async () => {
        const client = await pool.connect();
        try {
          const backend = await beginPinned(client);
          ours.add(backend);
          const taken = await tryLock(client, this.#key, this.worker !== null);
          if (taken === 'here') {
            throw new Error(
              'the pooled backend the connection got holds it already, for a process that took it without staying in a transaction',
            );
          }
          if (taken === 'busy') {
            // Held by the backend of our broken connection until the server notices: CI saw the
            // lock declared lost in that gap.
            throw (
              (await passingHold(client, this.#key, ours)) ?? new Error('another run holds it now')
            );
          }
          if (!this.worker) {
            // Someone may have held it in between: then our view of the checkpoint is stale.
            const others = await client.query(
              `SELECT 1 FROM ${t.sessions} WHERE checkpoint = $1 AND session_id <> $2 AND started_at >= $3`,
              [this.cid, this.sessionId, this.owner.since],
            );
            if ((others.rowCount ?? 0) > 0) throw new Error('another run held it in between');
          }
          await commitPinned(client);
          client.on('error', this.#onError);
          if (this.#released) {
            client.off('error', this.#onError);
            client.release(true);
            return;
          }
          this.#client = client;
          this.#backend = backend;
        } catch (cause) {
          client.release(true);
          throw cause;
        }
      },
    );
  }
}

/**
 * The unfinished units leased to worker $2 in checkpoint $1, locked in key order: the order every
 * transaction of the store locks units in, so that none of them deadlocks another.
 */
export function leasedTo(t: Tables): string {
  return `SELECT key FROM ${t.units}
          WHERE checkpoint = $1 AND lease_owner = $2 AND status IN ('pending', 'in_progress')
          ORDER BY key FOR UPDATE`;
}
