import { DatabaseUnavailableError, isMissingSocketDirectory, isServerError } from './errors.js';
import { isPoolerRefusal } from './pooler.js';

/**
 * Which failures are worth another try: the connection broke (the server terminated it,
 * restarted, or the network dropped), the server could not be reached or did not answer in
 * time, the server rolled the transaction back on its own (serialization failure, deadlock), or
 * it refused for a while: a lock another session held past lock_timeout or statement_timeout (a
 * DBA's LOCK TABLE or ALTER TABLE), no writes (a read-only switch, a standby during a failover),
 * too few resources (connections, disk, memory). Those end when the DBA or the failover is done,
 * and the retry bound says how long to wait for that.
 * Anything else (a constraint, bad input, a privilege, a missing table, a host name that does
 * not resolve) fails at once.
 */
const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '57014', // query_canceled (statement_timeout, pg_cancel_backend)
  '55P03', // lock_not_available (lock_timeout)
  '25006', // read_only_sql_transaction
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Class 53, insufficient resources: too many connections, disk full, out of memory. */
const TRANSIENT_CLASS = '53';

/** Network errors that no retry fixes: the host name does not resolve. */
const PERMANENT_NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_FAIL', 'EAI_NONAME']);

/**
 * Whether the connection that gave `error` is gone: broken, refused, or ended by the server
 * (`57P*`: terminated, shut down, idle_session_timeout; `25P03`: idle_in_transaction_session_timeout).
 */
export function isConnectionError(error: unknown): boolean {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string' && PERMANENT_NETWORK_CODES.has(code)) return false;
  // A pooler refusing statement pooling's transactions or a startup parameter says 08P01 too,
  // and no wait changes its configuration.
  if (isPoolerRefusal(error)) return false;
  // A file the connection string names (sslrootcert, sslcert, sslkey) that cannot be read: its
  // E-code (ENOENT, EACCES) is no network's, and no wait makes the file appear.
  if (syscall === 'open') return false;
  // A socket directory that does not exist is a mistyped host; a socket file missing from one
  // that does is a server restarting, and passes.
  if (isMissingSocketDirectory(error)) return false;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || code.startsWith('57P') || code === '25P03' || code.startsWith('E'))
  ) {
    return true;
  }
  const message = error instanceof Error ? error.message : '';
  // pg's own words for a connection that broke, or that did not connect or answer in time.
  return /Connection terminated|connection error|not queryable|Client was closed|ended by the other party|timeout expired|timeout exceeded when trying to connect|Query read timeout/i.test(
    message,
  );
}

/**
 * A failure the store knows will pass (the backend of a broken connection still holds a lock it
 * is about to drop): tried again like a transient one, for as long as the retry policy allows.
 */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

export function isTransient(error: unknown): boolean {
  if (error instanceof RetryLater) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' &&
      (TRANSIENT_CODES.has(code) || (isServerError(error) && code.startsWith(TRANSIENT_CLASS)))) ||
    isConnectionError(error)
  );
}

/**
 * The error to report for a statement that failed on a connection the server had ended: pg's
 * own words ("not queryable", "Connection terminated") say only that the connection is gone;
 * the error the connection emitted when the server ended it (`emitted`) says why (an idle
 * timeout, an administrator's command).
 */
export function reasonOf(error: unknown, emitted: Error | undefined): unknown {
  return emitted !== undefined && isConnectionError(error) && isConnectionError(emitted)
    ? emitted
    : error;
}

/** A unique violation of the flushes table: the flush committed in an earlier attempt. */
export function isDuplicateFlush(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'flushes_pkey';
}

export interface RetryPolicy {
  /**
   * How long the store keeps trying through a transient failure (a terminated connection, a
   * server restart, a server that does not answer), from the first failure of an operation:
   * then it gives up with {@link DatabaseUnavailableError}. Default 30,000 ms.
   */
  maxOutageMs: number;
  /** Longest pause between tries. Default 1000 ms. */
  maxDelayMs: number;
  /** Tries in all, the first included, when fewer than {@link maxOutageMs} allows. Default: no limit. */
  attempts: number;
}

/**
 * A store's retry policy, one object shared by all its operations, with what they found out:
 * `gaveUp` is set when one of them gave up on the server (at `gaveUpAt`) and cleared when one
 * succeeds. An operation that starts while it is set, less than `maxOutageMs` after, makes
 * {@link TRIES_WHEN_DOWN} tries instead of waiting out another whole `maxOutageMs`: the job
 * already knows the server is gone (it got the {@link DatabaseUnavailableError}), and what
 * follows, a run's last flush on close or its cleanup, should report that at once rather than
 * keep the process alive that long again. Operations already under way keep their own bound.
 *
 * Per store, not per run, on purpose: `maxOutageMs` bounds how long the job waits for one
 * outage, and the store has just watched this one last that long with nothing reached since.
 * Another run of the same store (another checkpoint of the process) starting an operation then
 * would wait out a second bound for the same outage, and each run after it a third, ...: a
 * process working N checkpoints one after another would stay N times the bound on a server that
 * is gone. Its operations that were already retrying keep their own bound.
 *
 * The shortcut ends `maxOutageMs` after the give-up: what the store knew of the server is then
 * as old as the bound, the server may be back, and of two tries one may be lost to a pooled
 * connection the outage broke; an operation starting that late is a new wait, and gets the
 * whole bound again.
 */
export interface StorePolicy extends RetryPolicy {
  gaveUp: boolean;
  /** When `gaveUp` was set (`Date.now()`). */
  gaveUpAt?: number;
}

/** Whether an operation starting now makes {@link TRIES_WHEN_DOWN} tries: see {@link StorePolicy}. */
function recentlyGaveUp(policy: StorePolicy): boolean {
  return policy.gaveUp && Date.now() - (policy.gaveUpAt ?? 0) < policy.maxOutageMs;
}

/**
 * Tries of an operation that starts after the store gave up: two, because the first may take a
 * connection that the outage broke and the pool has not dropped yet.
 */
export const TRIES_WHEN_DOWN = 2;

export const DEFAULT_RETRY: RetryPolicy = {
  maxOutageMs: 30_000,
  maxDelayMs: 1000,
  attempts: Number.POSITIVE_INFINITY,
};

/** Exponential pause with jitter before try `attempt` + 1. */
export function backoff(attempt: number, policy: RetryPolicy): Promise<void> {
  const base = Math.min(policy.maxDelayMs, 25 * 2 ** (attempt - 1));
  const ms = base / 2 + Math.random() * (base / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not transient, or the outage
 * has lasted `policy.maxOutageMs` (or `policy.attempts` tries): then throws
 * {@link DatabaseUnavailableError} saying what the store was doing and the last cause. When the
 * store had given up less than `maxOutageMs` before this started, {@link TRIES_WHEN_DOWN} tries
 * at most.
 * `attempt` gets the try's number, from 1.
 */
export async function retrying<T>(
  policy: StorePolicy,
  doing: string,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const alreadyDown = recentlyGaveUp(policy);
  const attempts = alreadyDown ? Math.min(TRIES_WHEN_DOWN, policy.attempts) : policy.attempts;
  for (let n = 1; ; n++) {
    try {
      const value = await attempt(n);
      policy.gaveUp = false;
      return value;
    } catch (error) {
      if (!isTransient(error)) throw error;
      const elapsed = Date.now() - started;
      if (elapsed >= policy.maxOutageMs || n >= attempts) {
        policy.gaveUp = true;
        policy.gaveUpAt = Date.now();
        throw new DatabaseUnavailableError(doing, n, elapsed, policy, error, { alreadyDown });
      }
      await backoff(n, policy);
    }
  }
}
