import { settingFault } from '@checkpointkit/core';
import pg from 'pg';
import { PostgresStoreError } from './errors.js';
import type { PostgresStoreOptions } from './store.js';

/**
 * Where pg connects for `config`: parsed by pg itself, so that a URL's query (`?host=`,
 * `?port=`), a `%2F` socket host, an IPv6 host and PGHOST, PGPORT or PGDATABASE are read as the
 * driver reads them. Throws what pg throws for a string it cannot use (a percent-encoding that
 * does not decode, a certificate file it cannot read). Connects nowhere.
 */
function endpointOf(config: pg.ClientConfig): { host: string; port: number; database: string } {
  const client = new pg.Client(config);
  return { host: client.host, port: client.port, database: client.database ?? '' };
}

/**
 * `host:port/database` of where pg connects, for messages: never the user or the password. A
 * unix socket is named by its path (`unix socket /run/postgresql/.s.PGSQL.5432/jobs`), an IPv6
 * host in brackets.
 */
function describeEndpoint({
  host,
  port,
  database,
}: {
  host: string;
  port: number;
  database: string;
}): string {
  if (host.startsWith('/')) return `unix socket ${host}/.s.PGSQL.${port}/${database}`;
  return `${host.includes(':') ? `[${host}]` : host}:${port}/${database}`;
}

/**
 * `host:port/database` of a pool's server, for messages: where pg connects with the pool's
 * options (its `connectionString`, or `host`, `port` and `database`, or the PG* environment).
 */
export function describePool(pool: pg.Pool): string {
  try {
    return describeEndpoint(endpointOf(pool.options as pg.ClientConfig));
  } catch {
    const o = pool.options as { host?: string; port?: number; database?: string };
    return `${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`;
  }
}

/** How to write a user name or password that holds characters a URL gives a meaning to. */
const ENCODE_HINT =
  'a user name or password holding @ : / ? # % or a space must be percent-encoded (encodeURIComponent)';

/**
 * Whether an `@` follows the first `/`, `?` or `#` after `scheme://` before any `=`: the user
 * name or password holds one of those unencoded, and the URL would read the rest of it as the
 * database, the query or a fragment (and what precedes it as host and port).
 */
function unencodedUserInfo(connectionString: string): boolean {
  const rest = connectionString.slice(connectionString.indexOf('://') + 3);
  const end = rest.search(/[/?#]/);
  return end >= 0 && rest.slice(end).split('=')[0]!.includes('@');
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
  // Kept quotes or a space around it (pg connected to the database `"jobs  "`); a `.env` file's
  // trailing `\r` is fine, pg's URL parser drops it.
  const misspelled = settingFault(connectionString, 'url');
  if (misspelled) throw new PostgresStoreError(`postgresStore: ${where} ${misspelled}`);
  if (!/^postgres(ql)?:\/\//i.test(connectionString)) {
    throw new PostgresStoreError(
      `postgresStore: ${where} is not a postgres:// URL (expected postgres://user@host:5432/database)`,
    );
  }
  // Else pg would connect to a host made of the user name and a port made of the password's
  // first characters, and name them in its errors.
  if (unencodedUserInfo(connectionString)) {
    throw new PostgresStoreError(`postgresStore: ${where} is not a valid URL: ${ENCODE_HINT}`);
  }
  // What pg will do with it, found now rather than on every connection attempt: a string it
  // cannot parse, a percent-encoding that does not decode, a certificate file it cannot read.
  try {
    endpointOf({ connectionString });
  } catch (error) {
    throw new PostgresStoreError(`postgresStore: ${where} cannot be used: ${unusable(error)}`);
  }
  return connectionString;
}

/** A number of the URL's query, or undefined. */
function urlNumber(connectionString: string, name: string): number | undefined {
  // Not through URL: pg also takes an empty host after user info (`postgres://u:p@/db?host=`).
  const beforeFragment = connectionString.split('#')[0]!;
  const at = beforeFragment.indexOf('?');
  const value = new URLSearchParams(at < 0 ? '' : beforeFragment.slice(at + 1)).get(name);
  if (value === null || value.trim() === '' || !Number.isFinite(Number(value))) return undefined;
  return Number(value);
}

/**
 * Why pg cannot use a connection string, without the string (pg's own errors may hold it): a
 * file it names that cannot be read is named by its path, which holds no secret.
 */
function unusable(error: unknown): string {
  const e = error as { code?: unknown; syscall?: unknown; path?: unknown } | null;
  if (typeof e?.syscall === 'string' && typeof e.path === 'string') {
    return `cannot read ${e.path} (${String(e.code)}), a file it names (sslrootcert, sslcert or sslkey)`;
  }
  if (error instanceof URIError) return `a percent-encoding in it does not decode: ${ENCODE_HINT}`;
  return `it is not a valid URL: ${ENCODE_HINT}`;
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
