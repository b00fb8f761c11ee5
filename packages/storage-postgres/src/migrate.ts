import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { CheckpointError } from '@checkpointkit/core';
import type pg from 'pg';
import { describeCause, MigrationError, SchemaNotMigratedError } from './errors.js';
import { quoteIdentifier, validateSchemaName } from './identifiers.js';
import { beginPinned, commitPinned, endPinned, rollbackPinned } from './pinned.js';
import { describePool } from './pool.js';
import { poolerError } from './pooler.js';
import { DEFAULT_RETRY, isTransient, type RetryPolicy, retrying } from './retry.js';

/** One numbered migration: `001_initial.sql` is version 1. `{{schema}}` stands for the quoted schema. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrateOptions {
  pool: pg.Pool;
  schema: string;
  /** The migrations to apply; default: the SQL files this package ships in `migrations/`. */
  migrations?: readonly Migration[];
  /**
   * How long to keep trying through failures that pass (another step's lock past lock_timeout,
   * a terminated connection, a restart, too many connections), as the store does. Default: the
   * store's (30 s, pauses up to 1 s).
   */
  retry?: Partial<RetryPolicy>;
}

export interface MigrateResult {
  /** Versions this call applied (empty when the schema was up to date). */
  applied: number[];
}

const FILE = /^(\d+)_[\w-]+\.sql$/;

/**
 * The names of the files in `migrations/`, kept here as well so that a store made with
 * `migrate: false` can check the schema without reading them: a worker bundled into one file
 * (esbuild, ncc) has no `migrations/` folder beside it. A unit test keeps the two equal.
 */
export const SHIPPED_MIGRATIONS: readonly string[] = ['001_initial.sql', '002_unit_count.sql'];

/** The SQL files shipped in the package's `migrations/` folder, in version order. */
export async function bundledMigrations(): Promise<Migration[]> {
  const dir = new URL('../migrations/', import.meta.url);
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (error) {
    // Not a connection problem: without this, the store would retry it as one for 30 s.
    throw new MigrationError(
      'migrations/',
      `the package's migrations folder cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); a worker bundled into one file has none: run the migrations from the installed package (store.migrate() or migrate()) and make the bundled store with migrate: false`,
      { cause: error },
    );
  }
  const names = files.filter((name) => FILE.test(name));
  const migrations: Migration[] = [];
  for (const name of names) {
    const version = Number(FILE.exec(name)![1]);
    migrations.push({ version, name, sql: await readFile(new URL(name, dir), 'utf8') });
  }
  return sortMigrations(migrations);
}

/** sha256 of a migration's text, as recorded when it is applied. */
export function checksum(migration: Migration): string {
  return createHash('sha256').update(migration.sql).digest('hex');
}

/**
 * Brings the schema up to date, for a deploy step: creates it, then applies each migration not
 * yet recorded in `schema_migrations`, each in its own transaction, all under a PostgreSQL
 * advisory lock so that workers starting together apply every migration exactly once. A failure
 * that may pass (another step's lock past lock_timeout, a statement timeout, a terminated
 * connection, a restart) rolls back what it cut short and is tried again within
 * `options.retry`, then thrown as a {@link DatabaseUnavailableError}. A recorded migration whose
 * text changed since, a file that fails, and a refusal no retry fixes (a privilege, a host name
 * that does not resolve) are a {@link MigrationError}. Errors name the schema and the server
 * (`host:port/database`), never the URL's user or password.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  validateSchemaName(options.schema);
  const where = `schema "${options.schema}" on ${describePool(options.pool)}`;
  const policy = { ...DEFAULT_RETRY, ...options.retry, gaveUp: false };
  try {
    return await retrying(policy, `migrating ${where}`, () => applyMigrations(options));
  } catch (error) {
    // Typed errors (a changed file, a clash, the bound run out) pass; a driver's error that no
    // retry fixes is named with the schema and the server, which pg's own message lacks.
    if (error instanceof CheckpointError) throw error;
    const pooler = poolerError(error, describePool(options.pool));
    if (pooler) throw pooler;
    throw new MigrationError(`of ${where}`, describeCause(error), { cause: error });
  }
}

/**
 * One try of {@link migrate}, without its retries (the store retries it within its own policy).
 * A failure that may pass is thrown as the driver's error: its transaction rolled back, and
 * calling this again goes on.
 */
export async function applyMigrations(options: MigrateOptions): Promise<MigrateResult> {
  const schema = quoteIdentifier(validateSchemaName(options.schema));
  const migrations = sortMigrations([...(options.migrations ?? (await bundledMigrations()))]);
  const client = await options.pool.connect();
  const lockKey = `checkpointkit:migrate:${options.schema}`;
  let broken: unknown;
  const onError = (error: unknown) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    // Taken inside a transaction that the connection never leaves until it is released, and
    // each migration committed with COMMIT AND CHAIN: behind a transaction-pooling proxy the
    // lock, the migrations and the unlock then all run on one server backend (see pinned.ts).
    await beginPinned(client);
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
    try {
      await assertNoClash(client, options.schema);
      // Only when missing: a role that owns its schema may lack CREATE on the database.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
        options.schema,
      ]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           checksum text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      await commitPinned(client);
      const recorded = await client.query<{ version: number; name: string; checksum: string }>(
        `SELECT version, name, checksum FROM ${schema}.schema_migrations`,
      );
      refuseNewer(options.schema, recorded.rows, migrations);
      const known = new Map(recorded.rows.map((row) => [row.version, row]));
      const applied: number[] = [];
      for (const migration of migrations) {
        const sum = checksum(migration);
        const done = known.get(migration.version);
        if (done) {
          if (done.checksum !== sum) {
            throw new MigrationError(
              migration.name,
              `it changed after it was applied (checksum ${done.checksum.slice(0, 12)}, now ${sum.slice(0, 12)}); add a new migration instead of editing an applied one`,
            );
          }
          continue;
        }
        try {
          await client.query(migration.sql.replaceAll('{{schema}}', schema));
          await client.query(
            `INSERT INTO ${schema}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
            [migration.version, migration.name, sum],
          );
          await commitPinned(client);
        } catch (error) {
          // A lock another session held past lock_timeout, a statement timeout or a broken
          // connection says nothing about the file: the transaction rolled back, and the caller
          // (the store, within its retry bound) may try again.
          if (isTransient(error)) throw error;
          throw new MigrationError(migration.name, `it failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
        applied.push(migration.version);
      }
      return { applied };
    } finally {
      if (!broken) {
        // What a failure left uncommitted goes; the lock is released on the backend that holds
        // it, still inside the transaction, before the connection may go to another client.
        await rollbackPinned(client)
          .then(() => client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]))
          .then(() => endPinned(client))
          .catch((error: unknown) => {
            broken = error;
          });
      }
    }
  } catch (error) {
    // A BEGIN or a lock that failed leaves the transaction open: the connection is not reused.
    broken ??= error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
  }
}

/**
 * For a store told not to migrate: refuses a schema that was never migrated, or that a newer
 * release migrated, with a {@link MigrationError} instead of the first statement's own error.
 */
export async function checkMigrated(options: {
  pool: pg.Pool;
  schema: string;
  /** The migrations the schema must have; default {@link SHIPPED_MIGRATIONS}. */
  migrations?: readonly Pick<Migration, 'version' | 'name'>[];
}): Promise<void> {
  const schema = quoteIdentifier(validateSchemaName(options.schema));
  const migrations = [
    ...(options.migrations ??
      SHIPPED_MIGRATIONS.map((name) => ({ version: Number(FILE.exec(name)![1]), name }))),
  ].sort((a, b) => a.version - b.version);
  const ledger = await options.pool.query<{ present: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS present',
    [`${schema}.schema_migrations`],
  );
  const recorded = ledger.rows[0]!.present
    ? (
        await options.pool.query<{ version: number; name: string }>(
          `SELECT version, name FROM ${schema}.schema_migrations`,
        )
      ).rows
    : [];
  const missing = migrations.filter((m) => !recorded.some((row) => row.version === m.version));
  if (missing.length > 0) {
    throw new SchemaNotMigratedError(
      options.schema,
      missing.map((m) => m.name),
    );
  }
  refuseNewer(options.schema, recorded, migrations);
}

/** The tables the migrations create, besides `schema_migrations`. */
const STORE_TABLES = ['checkpoints', 'units', 'id_maps', 'counters', 'sessions', 'flushes'];

/**
 * Refuses, before anything is created, a schema that already holds tables named like the
 * store's that the store did not make (an application's own `units`, say): the migrations would
 * skip them (`CREATE TABLE IF NOT EXISTS`) and every statement would then fail on them.
 */
async function assertNoClash(client: pg.PoolClient, schemaName: string): Promise<void> {
  const found = await client.query<{ table_name: string }>(
    `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname = ANY($2::text[])`,
    [schemaName, [...STORE_TABLES, 'schema_migrations']],
  );
  const names = new Set(found.rows.map((row) => row.table_name));
  if (names.size === 0) return;
  const ours = names.has('schema_migrations')
    ? await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'schema_migrations'
           AND column_name IN ('version', 'name', 'checksum')`,
        [schemaName],
      )
    : null;
  const ourLedger = ours !== null && ours.rows[0]!.n === 3;
  if (ours !== null && !ourLedger) {
    throw new MigrationError(
      'the schema check',
      `schema "${schemaName}" already holds a schema_migrations table that is not CheckpointKit's: give postgresStore a schema of its own (the schema option)`,
    );
  }
  const applied = ourLedger
    ? await client.query(`SELECT 1 FROM ${quoteIdentifier(schemaName)}.schema_migrations LIMIT 1`)
    : null;
  if (applied && (applied.rowCount ?? 0) > 0) return; // the store's own schema
  const clashing = STORE_TABLES.filter((name) => names.has(name)).join(', ');
  if (clashing === '') return; // only our empty ledger, left by a try that failed
  throw new MigrationError(
    'the schema check',
    `schema "${schemaName}" already holds ${clashing}, which CheckpointKit did not create: give postgresStore a schema of its own (the schema option)`,
  );
}

/**
 * Refuses a schema that a newer release of this package migrated (a version past the newest it
 * ships): in a rolling deploy the old workers would go on writing rows in the shape the newer
 * migration replaced.
 */
function refuseNewer(
  schemaName: string,
  recorded: readonly { version: number; name: string }[],
  migrations: readonly Pick<Migration, 'version'>[],
): void {
  const newest = migrations.at(-1)?.version ?? 0;
  const newer = recorded
    .filter((row) => row.version > newest)
    .sort((a, b) => a.version - b.version);
  if (newer.length === 0) return;
  throw new MigrationError(
    'the schema check',
    `schema "${schemaName}" was migrated by a newer version of @checkpointkit/storage-postgres (${newer.map((row) => row.name).join(', ')}; this version knows up to ${newest}): upgrade this worker's package, or give it a schema of its own`,
  );
}

function sortMigrations(migrations: Migration[]): Migration[] {
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new MigrationError(
        migrations[i]!.name,
        `version ${migrations[i]!.version} is used twice`,
      );
    }
  }
  return migrations;
}
