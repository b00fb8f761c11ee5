import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { quoteIdentifier } from '../src/identifiers.js';
import { type PostgresStore, type PostgresStoreOptions, postgresStore } from '../src/index.js';

/** The PostgreSQL server of this test run. */
export function databaseUrl(): string {
  return inject('databaseUrl');
}

/** A schema name no other test uses. */
export function freshSchema(prefix = 't'): string {
  return `ck_${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Runs `work` on a client of its own, outside any store. */
export async function withDb<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withDb((client) =>
    client.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`),
  );
}

/** Stores made by {@link openStore}, closed and their schemas dropped by {@link closeStores}. */
const opened: PostgresStore[] = [];

export function openStore(schema: string, options: PostgresStoreOptions = {}): PostgresStore {
  const store = postgresStore({
    connectionString: databaseUrl(),
    schema,
    maxConnections: 4,
    ...options,
  });
  opened.push(store);
  return store;
}

export async function closeStores(): Promise<void> {
  const schemas = new Set<string>();
  for (const store of opened.splice(0)) {
    schemas.add(store.schema);
    await store.close();
  }
  for (const schema of schemas) await dropSchema(schema);
}

/**
 * Stores that log in as a role of the test file's own (made before its tests, dropped after with
 * what it owns), which may create schemas: for tests in which a DBA revokes, disables or deletes
 * under a running job. `secret` is the role's password, which no error may show; `role` its name.
 */
export function roleStores(
  prefix: string,
  secret: string,
): { role: string; store(schema: string): PostgresStore } {
  const role = freshSchema(prefix);
  const stores: PostgresStore[] = [];
  beforeAll(async () => {
    await withDb(async (db) => {
      await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${secret}'`);
      await db.query(
        `GRANT CREATE ON DATABASE "${new URL(databaseUrl()).pathname.slice(1)}" TO ${role}`,
      );
    });
  });
  afterAll(async () => {
    for (const store of stores.splice(0)) {
      await store.close().catch(() => {});
      await dropSchema(store.schema);
    }
    await withDb(async (db) => {
      await db.query(`DROP OWNED BY ${role}`);
      await db.query(`DROP ROLE ${role}`);
    });
  });
  const store = (schema: string) => {
    const url = new URL(databaseUrl());
    url.username = role;
    url.password = secret;
    const made = postgresStore({
      connectionString: url.toString(),
      schema,
      maxConnections: 3,
      // A bound far above a test's time: what no retry fixes must not be retried.
      retry: { maxOutageMs: 60_000 },
    });
    stores.push(made);
    return made;
  };
  return { role, store };
}
