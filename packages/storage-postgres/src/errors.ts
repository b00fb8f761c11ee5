import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { CheckpointError } from '@checkpointkit/core';

/** Something the PostgreSQL store could not do: names the checkpoint or setting and the cause. */
export class PostgresStoreError extends CheckpointError {
  override name = 'PostgresStoreError';
}

/** A schema name that is not a plain identifier. The name is quoted in the message, never run. */
export class SchemaNameError extends PostgresStoreError {
  override name = 'SchemaNameError';
  constructor(
    readonly schema: string,
    reason: string,
  ) {
    super(`postgresStore: schema ${JSON.stringify(schema)} is not allowed: ${reason}`);
  }
}

/** A migration file that cannot be applied, or that changed after it was applied. */
export class MigrationError extends PostgresStoreError {
  override name = 'MigrationError';
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`migration ${file}: ${reason}`, options);
  }
}

/**
 * A store made with `migrate: false` found its schema without one of the migrations it needs:
 * never migrated (a mistyped schema name, most often) or migrated by an older release.
 */
export class SchemaNotMigratedError extends MigrationError {
  override name = 'SchemaNotMigratedError';
  constructor(
    /** The schema the store was given. */
    readonly schema: string,
    /** The migrations it lacks, by file name. */
    readonly missing: readonly string[],
  ) {
    super(
      missing[0]!,
      `schema "${schema}" lacks it and the store was made with migrate: false: run store.migrate() once (or migrate() from a deploy step) before the workers start`,
    );
  }
}

/**
 * A flush or transaction whose commit may or may not have happened: the connection broke while
 * committing and the server could not be asked afterwards. `outcomeUnknown` tells a run that its
 * state can no longer be trusted (it must be reopened).
 */
export class OutcomeUnknownError extends PostgresStoreError {
  override name = 'OutcomeUnknownError';
  readonly outcomeUnknown = true;
}

/**
 * The database stayed unreachable (connections refused, terminated, or unanswered) or kept
 * refusing for a reason that may pass (read-only, too many connections, a lock or statement
 * timeout) for longer than the store's `retry.maxOutageMs`: the store gave up. Until one of its
 * operations succeeds again, the next ones (a run's last flush on close, a cleanup) make only
 * two tries before they throw this too, instead of waiting out the bound again. The message ends
 * with the last cause, its SQLSTATE and what it most likely means. `storeUnavailable` tells a
 * pipeline to stop the run with this error rather than fail the unit it was working on.
 */
export class DatabaseUnavailableError extends PostgresStoreError {
  override name = 'DatabaseUnavailableError';
  readonly storeUnavailable = true;
  constructor(
    readonly doing: string,
    readonly tries: number,
    readonly elapsedMs: number,
    policy: { maxOutageMs: number },
    cause: unknown,
    /** The store had given up on the server before and not reached it since: it tried briefly. */
    { alreadyDown = false }: { alreadyDown?: boolean } = {},
  ) {
    const down = alreadyDown
      ? '; the store had already given up on the server and not reached it since, so it tried briefly'
      : '';
    super(
      `${doing}: gave up after ${tries} ${tries === 1 ? 'try' : 'tries'} over ${(elapsedMs / 1000).toFixed(1)} s (retry.maxOutageMs is ${policy.maxOutageMs} ms${down}): ${describeCause(cause)}`,
      { cause },
    );
  }
}

/**
 * The server refused a statement of the store for a reason no retry fixes: a privilege on its
 * schema or tables revoked (42501), a table, column or function of its schema dropped, renamed or
 * altered (42P01, 42703, ...), authorization refused (28xxx), the server's own failure (58xxx,
 * XX000). Every unit would meet it, so `storeUnavailable` tells a pipeline to stop the run with
 * this error rather than fail the unit it was working on; what the run had not saved stays
 * buffered, and the next run goes on from what the store holds once the cause is fixed.
 */
export class DatabaseRefusedError extends PostgresStoreError {
  override name = 'DatabaseRefusedError';
  readonly storeUnavailable = true;
  /** The SQLSTATE the server answered with, such as `42501`. */
  readonly sqlstate: string;
  constructor(
    /** What the store was doing, such as `checkpoint "x": saving`. */
    readonly doing: string,
    cause: ServerError,
  ) {
    super(`${doing}: the server refused it: ${describeCause(cause)}`, { cause });
    this.sqlstate = cause.code;
  }
}

/**
 * The checkpoint's row was deleted while a run held it: a DBA's `DELETE` or `TRUNCATE ...
 * CASCADE`, or code that deleted it without taking its lock (`checkpointkit rm` takes it). Its
 * units, id maps and counters went with it (`ON DELETE CASCADE`), so what the run did since
 * cannot be saved. `storeUnavailable` tells a pipeline to stop the run with this error rather
 * than fail the unit it was working on (every unit would meet it); the next run starts the job
 * over.
 */
export class CheckpointDeletedError extends PostgresStoreError {
  override name = 'CheckpointDeletedError';
  readonly storeUnavailable = true;
  constructor(
    readonly checkpointId: string,
    /** What the run was doing, such as `saving`. */
    doing: string,
    /** The table, qualified and quoted, such as `"crawler".checkpoints`. */
    table: string,
    options?: { cause?: unknown },
  ) {
    super(
      `checkpoint "${checkpointId}": ${doing}: its row in ${table} was deleted while this run held it (a DELETE or TRUNCATE by someone else, or another worker's finish with cleanup): its units, id maps and counters went with it, so what the run did since cannot be saved; the next run starts the job over`,
      options,
    );
  }
}

/**
 * Units rows of the checkpoint were deleted while a run held it: a DBA's `DELETE` on the units
 * table or a `TRUNCATE` of it. The store counts the units it writes (`checkpoints.unit_count`)
 * and finds fewer: the work recorded in the missing rows is gone, so the run stops rather than
 * claim nothing more and report the job completed. `storeUnavailable` tells a pipeline to stop
 * the run with this error rather than fail the unit it was working on. The next run goes on from
 * the units that are left: it plans the missing ones again and does them again.
 */
export class UnitsDeletedError extends PostgresStoreError {
  override name = 'UnitsDeletedError';
  readonly storeUnavailable = true;
  constructor(
    readonly checkpointId: string,
    /** The schema of the units table (unquoted). */
    readonly schema: string,
    /** What the run was doing, such as `saving` or `claiming units`. */
    doing: string,
    /** The units rows the store wrote for the checkpoint. */
    readonly expected: number,
    /** The units rows there are. */
    readonly found: number,
    /** The table, qualified and quoted, such as `"crawler".units`. */
    table: string,
  ) {
    super(
      `checkpoint "${checkpointId}": ${doing}: ${expected - found} of its ${expected} rows in ${table} were deleted while this run held it (a DELETE or TRUNCATE by someone else): the work recorded in them is lost, so the run stops instead of reporting the job done; the next run plans the missing units again and does them again`,
    );
  }
}

/** An error the PostgreSQL server sent (pg's `DatabaseError`): a severity and a SQLSTATE. */
export interface ServerError extends Error {
  code: string;
  severity: string;
}

/** Whether `error` came from the server (not from the network, the driver or the store). */
export function isServerError(error: unknown): error is ServerError {
  const e = error as { code?: unknown; severity?: unknown } | null;
  return (
    error instanceof Error &&
    typeof e?.severity === 'string' &&
    typeof e.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(e.code)
  );
}

/**
 * What a SQLSTATE most likely means for a job, in the words of what a DBA or a managed server
 * did; undefined when the server's own message says enough.
 */
function meaningOf(sqlstate: string): string | undefined {
  const schemaChanged =
    "the store's schema was changed behind its back (a table or column dropped, renamed or altered): restore it as its migrations made it, or give the store a new schema";
  const meanings: Record<string, string> = {
    '25006':
      'the server accepts no writes: it is read-only (default_transaction_read_only, set by an administrator or by a managed service whose disk is full) or a standby',
    '25P03':
      "the server ended a transaction that was idle longer than its idle_in_transaction_session_timeout: the transaction's own work (a transactional sink) waited that long between statements",
    '28000':
      "the server refuses the store's role: it may not log in (NOLOGIN, VALID UNTIL passed, a pg_hba.conf rule), as when a credential rotation disables it: give the job a role that may",
    '28P01':
      "the server refused the connection's password: it is wrong or changed (a credential rotation), or the role does not exist (the server does not say which): give the job the right ones",
    '42501':
      "the store's role lacks a privilege: it needs USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on the schema's tables (and CREATE on the database or the schema to migrate)",
    '42P01': schemaChanged,
    '42703': schemaChanged,
    '42883': schemaChanged,
    '42804': schemaChanged,
    '3F000': schemaChanged,
    '53300':
      'the server refuses more connections (a CONNECTION LIMIT of the role or the database, or max_connections): the store uses up to maxConnections connections, and one more per open run',
    '55P03':
      "another session held a lock on the store's tables longer than lock_timeout (a LOCK TABLE, a long ALTER TABLE)",
    '57014':
      "a statement was cancelled: it ran longer than statement_timeout (statementTimeoutMs), most likely waiting for a lock another session holds on the store's tables, or an administrator cancelled it",
  };
  return meanings[sqlstate];
}

/**
 * Whether `error` is a connection to a unix socket in a directory that does not exist (a
 * mistyped `host`), rather than to a socket file missing while its server restarts.
 */
export function isMissingSocketDirectory(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown; address?: unknown } | null;
  return (
    e?.code === 'ENOENT' &&
    e.syscall === 'connect' &&
    typeof e.address === 'string' &&
    !existsSync(dirname(e.address))
  );
}

/**
 * What the driver's own words about a connection that could not be made mean, and what to do,
 * for failures that come from the connection's settings rather than from the server's state;
 * undefined for others.
 */
export function hintOf(error: unknown): string | undefined {
  const message = (error as Error)?.message ?? '';
  if (/does not support SSL/i.test(message)) {
    return 'the connection string asks for SSL (sslmode, ssl or PGSSLMODE) and the server does not offer it: enable SSL on the server, or connect with sslmode=disable where that is safe';
  }
  if (/password must be a string|no password supplied/i.test(message)) {
    return 'the server asks for a password and none was given: put it in the URL (percent-encoded) or in PGPASSWORD';
  }
  if (isMissingSocketDirectory(error)) {
    const { address } = error as { address: string };
    return `the unix socket directory ${dirname(address)} does not exist: check the connection string's host`;
  }
  const e = error as { syscall?: unknown; path?: unknown } | null;
  if (e?.syscall === 'open' && typeof e.path === 'string') {
    return 'a file the connection string names (sslrootcert, sslcert or sslkey) cannot be read';
  }
  return undefined;
}

/**
 * What PgBouncer's own refusals (SQLSTATE 08P01, which reads like a broken connection) most
 * likely mean for the store; undefined for others.
 */
function poolerMeaning(message: string): string | undefined {
  if (/query_wait_timeout/.test(message)) {
    return "a connection pooler (PgBouncer) found no free server connection for that long: behind transaction pooling each open run keeps one of the pool's server connections for its lock (see the README's Connection poolers), so its default_pool_size must be larger than the runs open at once against this database and user";
  }
  return undefined;
}

/** The message of a cause, with its SQLSTATE and what it means when it came from the server. */
export function describeCause(cause: unknown): string {
  const message = (cause as Error)?.message ?? String(cause);
  if (!isServerError(cause)) {
    const hint = hintOf(cause);
    return hint === undefined ? message : `${message} (${hint})`;
  }
  const meaning = meaningOf(cause.code) ?? poolerMeaning(message);
  return `${message} (SQLSTATE ${cause.code}${meaning === undefined ? '' : `: ${meaning}`})`;
}

/**
 * SQLSTATE classes in which the server refuses what no unit could change: privileges and the
 * schema's objects (42), authorization (28), a database or schema that is gone (3D, 3F), an
 * object in a state that refuses the statement (55), the server's own failures (58, XX). A data
 * or integrity error (22, 23) may come from one unit's values, and stays that unit's failure.
 */
const REFUSAL_CLASSES = new Set(['42', '28', '3D', '3F', '55', '58', 'XX']);

/**
 * `error` as the store reports a failed statement of its own that will not be retried: a
 * server's refusal becomes a {@link DatabaseRefusedError} saying what the store was doing;
 * anything else (a store error, a data error, a broken connection) passes as it is.
 */
export function refusal(error: unknown, doing: string): unknown {
  return isServerError(error) && REFUSAL_CLASSES.has(error.code.slice(0, 2))
    ? new DatabaseRefusedError(doing, error)
    : error;
}

/**
 * The connection goes through a connection pooler (PgBouncer, a hosted database's pooler) in a
 * mode or with settings the store cannot work with: statement pooling, which refuses the
 * transactions that every save and a run's lock need, a pooler that refuses a startup
 * parameter the store sends, or a transaction pooler whose backend already holds the
 * checkpoint's lock for a process that took it without staying in a transaction. Raised when the store or the run opens, at once (not retried: no
 * wait changes the pooler's configuration). The message names the server as `host:port/database`
 * (never the connection string's user or password), the cause and what to change.
 */
export class ConnectionPoolerError extends PostgresStoreError {
  override name = 'ConnectionPoolerError';
  constructor(
    /** Where the store connects, as `host:port/database`. */
    readonly endpoint: string,
    /** Why the store cannot work through it. */
    readonly reason: 'statement-pooling' | 'startup-parameter' | 'unpinned-lock',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
