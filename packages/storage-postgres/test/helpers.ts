import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
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
