import pg from 'pg';
import { PostgresStoreError } from './errors.js';
import type { PostgresStoreOptions } from './store.js';

/** `host:port/database` of a URL, for messages: never the user or the password. */
export function describeUrl(connectionString: string): string {
  const url = new URL(connectionString);
  return `${url.hostname || 'localhost'}:${url.port || 5432}${url.pathname}`;
}

/**
 * `host:port/database` of a pool's server, for messages: from its `connectionString` when it was
 * made with one (its `host` is then unset), else from `host`, `port` and `database`.
 */
export function describePool(pool: pg.Pool): string {
  const o = pool.options as {
    connectionString?: string;
    host?: string;
    port?: number;
    database?: string;
  };
  if (o.connectionString) {
    try {
      return describeUrl(o.connectionString);
    } catch {
      // Not a URL (pg also takes a libpq keyword string): the fields below, never the string.
    }
  }
  return `${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;
/** How much longer than the server's statement_timeout the store waits for an answer at all. */
const ANSWER_GRACE_MS = 5_000;

function connectionStringOf(options: PostgresStoreOptions): string {
  const connectionString = options.connectionString ?? process.env['DATABASE_URL'];
  if (!connectionString) {
    throw new PostgresStoreError(
      'postgresStore: no database given: pass connectionString or pool, or set DATABASE_URL',
    );
  }
  // Never echo the string: it may hold a password.
  const where = options.connectionString === undefined ? 'DATABASE_URL' : 'connectionString';
  if (!/^postgres(ql)?:\/\//i.test(connectionString)) {
    throw new PostgresStoreError(
      `postgresStore: ${where} is not a postgres:// URL (expected postgres://user@host:5432/database)`,
    );
  }
  try {
    new URL(connectionString);
  } catch {
    throw new PostgresStoreError(`postgresStore: ${where} is not a valid URL`);
  }
  return connectionString;
}

/** `host:port/database` of the store's server, for messages: never the user or password. */
export function describeTarget(options: PostgresStoreOptions): string {
  if (options.pool) return describePool(options.pool);
  return describeUrl(connectionStringOf(options));
}

/** A number of the URL's query, or undefined. */
function urlNumber(connectionString: string, name: string): number | undefined {
  const value = new URL(connectionString).searchParams.get(name);
  if (value === null || value.trim() === '' || !Number.isFinite(Number(value))) return undefined;
  return Number(value);
}

export function makePool(options: PostgresStoreOptions): pg.Pool {
  const connectionString = connectionStringOf(options);
  const urlConnect = urlNumber(connectionString, 'connect_timeout');
  const connectTimeoutMs =
    options.connectTimeoutMs ??
    (urlConnect === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : urlConnect * 1000);
  const statementTimeoutMs =
    options.statementTimeoutMs ??
    urlNumber(connectionString, 'statement_timeout') ??
    DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'checkpointkit',
    connectionTimeoutMillis: connectTimeoutMs,
    ...(statementTimeoutMs > 0 && {
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + ANSWER_GRACE_MS,
    }),
  });
  // A pooled connection that the server closes while idle is dropped and replaced; without a
  // listener its error would end the process.
  pool.on('error', () => {});
  // The same for a connection in use: the server may end it (pg_terminate_backend, a shutdown)
  // between two statements, even in the packet that answered the one before, so pg reports it
  // as an event before the code that holds the connection could listen. The next statement on
  // it fails as a broken connection, and is retried; unheard, the event would end the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
