/**
 * The exported `migrate()` of a deploy step meets what a rolling deploy meets: another step
 * holding the migration lock past lock_timeout (55P03). It retries within `retry.maxOutageMs`
 * like the store does, then throws a typed error naming the schema, the server and the cause,
 * never the password of the pool's URL.
 *
 * On the shared test server: lock_timeout is set per connection (the URL's `options`).
 */
import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { DatabaseUnavailableError, MigrationError, migrate } from '../../src/index.js';
import { databaseUrl, dropSchema, freshSchema, withDb } from '../helpers.js';

const SECRET = 'Pw-81c4-deploy-step-never-shown';
const pools: pg.Pool[] = [];
const schemas: string[] = [];

afterAll(async () => {
  for (const pool of pools.splice(0)) await pool.end();
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

/** A deploy step's pool: a password in its URL (the test server trusts), lock_timeout 50 ms. */
function deployPool(): pg.Pool {
  const url = new URL(databaseUrl());
  url.password = SECRET;
  url.searchParams.set('options', '-c lock_timeout=50');
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}

/** Another deploy step migrating `schema`: holds its migration lock until released. */
async function otherStep(schema: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  client.on('error', () => {});
  await client.connect();
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
    `checkpointkit:migrate:${schema}`,
  ]);
  return { release: () => client.end() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('migrate() waits while another deploy step holds the migration lock past lock_timeout (55P03), then applies', async () => {
  const schema = freshSchema('mr_wait');
  schemas.push(schema);
  const other = await otherStep(schema);
  const releasing = sleep(300).then(() => other.release());
  const result = await migrate({ pool: deployPool(), schema, retry: { maxOutageMs: 10_000 } });
  await releasing;
  expect(result).toEqual({ applied: [1, 2] });
});

it('migrate() gives up after retry.maxOutageMs with DatabaseUnavailableError naming the schema, the server and 55P03, never the password', async () => {
  const schema = freshSchema('mr_late');
  schemas.push(schema);
  const other = await otherStep(schema);
  try {
    const error = await migrate({
      pool: deployPool(),
      schema,
      retry: { maxOutageMs: 300 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    const { hostname, port, pathname } = new URL(databaseUrl());
    expect((error as Error).message).toContain(
      `migrating schema "${schema}" on ${hostname}:${port || 5432}${pathname}: gave up after`,
    );
    expect((error as Error).message).toMatch(/lock timeout \(SQLSTATE 55P03: /);
    // Kept trying for the whole bound (how many tries fit in it depends on the machine's load).
    expect((error as DatabaseUnavailableError).elapsedMs).toBeGreaterThanOrEqual(300);
    expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  } finally {
    await other.release();
  }
});

it('migrate() reports a refusal no retry fixes (no CREATE on the database, 42501) as a MigrationError naming it, at once, never the password', async () => {
  const role = freshSchema('mr_role');
  await withDb((db) => db.query(`CREATE ROLE ${role} LOGIN`));
  const url = new URL(databaseUrl());
  url.username = role;
  url.password = SECRET;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  pool.on('error', () => {});
  try {
    const schema = freshSchema('mr_denied');
    // A bound far above the test's time: a refusal must not be retried.
    const error = await migrate({ pool, schema, retry: { maxOutageMs: 60_000 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain(`migration of schema "${schema}" on `);
    expect((error as Error).message).toMatch(
      /permission denied for database .*\(SQLSTATE 42501: the store's role lacks a privilege/,
    );
    expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  } finally {
    await pool.end();
    await withDb((db) => db.query(`DROP ROLE ${role}`));
  }
});
