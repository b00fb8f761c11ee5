import { openRun } from '@checkpointkit/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPoolerError, DatabaseUnavailableError, migrate } from '../../src/index.js';
import { closeStores, databaseUrl, freshSchema, openStore } from '../helpers.js';
import { type PgBouncer, startPgBouncer } from '../pgbouncer.js';

/** A password PgBouncer (auth_type any) lets through and no error may show. */
const SECRET = 'pooler-s3cret-pw';

function withPassword(url: string): string {
  const made = new URL(url);
  made.password = SECRET;
  return made.toString();
}

describe('poolers the store cannot work behind', () => {
  const bouncers: PgBouncer[] = [];
  let statement: PgBouncer;
  let strict: PgBouncer;
  let tiny: PgBouncer;
  beforeAll(async () => {
    [statement, strict, tiny] = await Promise.all([
      startPgBouncer({ target: databaseUrl(), poolMode: 'statement', poolSize: 2 }),
      // As PgBouncer comes: it refuses a startup parameter it does not know.
      startPgBouncer({
        target: databaseUrl(),
        poolMode: 'transaction',
        poolSize: 2,
        ignoreStartupParameters: [],
      }),
      // One server connection, which an open run keeps for its lock.
      startPgBouncer({
        target: databaseUrl(),
        poolMode: 'transaction',
        poolSize: 1,
        settings: ['query_wait_timeout = 2'],
      }),
    ]);
    bouncers.push(statement, strict, tiny);
  });
  afterAll(async () => {
    await closeStores();
    for (const bouncer of bouncers) await bouncer.stop();
  });

  it('refuses statement pooling when the run opens, naming the cause and the fix', async () => {
    const schema = freshSchema('pool_stmt');
    await openStore(schema).migrate();
    // A bound far above a test's time: the refusal must not be retried.
    const options = { retry: { maxOutageMs: 120_000 }, maxConnections: 2 };
    const store = openStore(schema, {
      ...options,
      connectionString: withPassword(statement.url),
      migrate: false,
    });
    const refused = await openRun({ id: 'job', store, signals: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionPoolerError);
    const message = (refused as Error).message;
    expect(message).toContain('statement');
    expect(message).toContain(`127.0.0.1:${new URL(statement.url).port}/postgres`);
    expect(message).toMatch(/session|direct/);
    expect(message).not.toContain(SECRET);
    // Migrating through it is refused the same way, by the store and by migrate().
    const migrating = openStore(freshSchema('pool_stmt'), {
      ...options,
      connectionString: withPassword(statement.url),
    });
    const notMigrated = await migrating.migrate().catch((e: unknown) => e);
    expect(notMigrated).toBeInstanceOf(ConnectionPoolerError);
    expect((notMigrated as Error).message).not.toContain(SECRET);
    const viaMigrate = await migrate({ pool: migrating.pool, schema: migrating.schema }).catch(
      (e: unknown) => e,
    );
    expect(viaMigrate).toBeInstanceOf(ConnectionPoolerError);
  });

  it('refuses a pooler that refuses statement_timeout at once, saying what to change', async () => {
    const schema = freshSchema('pool_param');
    const store = openStore(schema, {
      connectionString: withPassword(strict.url),
      retry: { maxOutageMs: 120_000 },
      maxConnections: 2,
    });
    const refused = await store.migrate().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionPoolerError);
    const message = (refused as Error).message;
    expect(message).toContain('statement_timeout');
    expect(message).toContain('ignore_startup_parameters');
    expect(message).toContain('statementTimeoutMs: 0');
    expect(message).not.toContain(SECRET);
    // The fix it names works.
    const fixed = openStore(schema, {
      connectionString: withPassword(strict.url),
      statementTimeoutMs: 0,
      maxConnections: 2,
    });
    expect((await fixed.migrate()).applied).toEqual([1, 2]);
    const run = await openRun({ id: 'job', store: fixed, signals: false });
    await run.count('n');
    await run.close();
    expect((await fixed.load('job'))!.stats['n']).toBe(1);
  });

  it('behind transaction pooling with a server connection for the lock only, says the pool is too small', async () => {
    const schema = freshSchema('pool_tiny');
    await openStore(schema).migrate();
    const store = openStore(schema, {
      connectionString: withPassword(tiny.url),
      migrate: false,
      retry: { maxOutageMs: 3000 },
    });
    // The run's lock keeps the only server: its load waits for another until PgBouncer gives up.
    const refused = await openRun({ id: 'job', store, signals: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DatabaseUnavailableError);
    const message = (refused as Error).message;
    expect(message).toContain('query_wait_timeout');
    expect(message).toContain('default_pool_size must be larger than the runs open at once');
    expect(message).not.toContain(SECRET);
  });

  it('refuses to take a lock that a pooled backend holds for a process that did not stay in a transaction', async () => {
    const schema = freshSchema('pool_left');
    await openStore(schema).migrate();
    const leaked = await startPgBouncer({
      target: databaseUrl(),
      poolMode: 'transaction',
      poolSize: 1,
    });
    bouncers.push(leaked);
    // As the store did before it pinned its lock's connection: a session lock taken outside a
    // transaction stays on the pool's only backend, which the pooler hands to the next client.
    const old = new pg.Client({ connectionString: leaked.url });
    await old.connect();
    const key = `checkpointkit:${schema}:job`;
    await old.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0))', [key]);
    const store = openStore(schema, {
      connectionString: withPassword(leaked.url),
      migrate: false,
      maxConnections: 1,
    });
    const refused = await openRun({ id: 'job', store, signals: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionPoolerError);
    expect((refused as ConnectionPoolerError).reason).toBe('unpinned-lock');
    expect((refused as Error).message).toContain('transaction-pooling proxy');
    expect((refused as Error).message).not.toContain(SECRET);
    await old.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    await old.end();
  });
});
