import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointLockedError, openRun } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockHolders } from '../../src/locks.js';
import { bundleChild, startChild } from '../children.js';
import { closeStores, databaseUrl, freshSchema, openStore, withDb } from '../helpers.js';
import { type PgBouncer, type PoolMode, startPgBouncer } from '../pgbouncer.js';

/**
 * The store behind PgBouncer in the modes where it works: with session pooling each client
 * connection keeps its server, with transaction pooling a server goes back to the pool after
 * each transaction, so that a small pool really shares its backends among the processes.
 */
const MODES: { mode: PoolMode; poolSize: number }[] = [
  { mode: 'transaction', poolSize: 2 },
  // A session pins a server for as long as the client stays connected: enough for every one.
  { mode: 'session', poolSize: 20 },
];
const ROUNDS = 50;
const UNITS = 400;
const WORKERS = 3;

const lines = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** The advisory lock key of a checkpoint, as the store makes it (ids here are plain text). */
const lockKey = (schema: string, id: string) => `checkpointkit:${schema}:${id}`;

async function holders(schema: string, id: string): Promise<number[]> {
  return withDb((db) => lockHolders(db, lockKey(schema, id)));
}

describe.each(MODES)('behind PgBouncer, pool_mode = $mode', ({ mode, poolSize }) => {
  let bouncer: PgBouncer;
  let workerBouncer: PgBouncer;
  let openChild: string;
  let workerChild: string;
  let migrateChild: string;
  let dir: string;
  beforeAll(async () => {
    [bouncer, workerBouncer, openChild, workerChild, migrateChild, dir] = await Promise.all([
      startPgBouncer({ target: databaseUrl(), poolMode: mode, poolSize }),
      // Each worker keeps one server for its hold (see src/pinned.ts): one more to share.
      startPgBouncer({
        target: databaseUrl(),
        poolMode: mode,
        poolSize: Math.max(poolSize, WORKERS + 1),
      }),
      bundleChild('pooled-open-child'),
      bundleChild('worker-child'),
      bundleChild('migrate-child'),
      mkdtemp(join(tmpdir(), 'checkpointkit-poolers-')),
    ]);
  });
  afterAll(async () => {
    await closeStores();
    await bouncer?.stop();
    await workerBouncer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`two processes opening one checkpoint ${ROUNDS} times each never hold it together`, async () => {
    const schema = freshSchema('pool_open');
    await openStore(schema).migrate();
    await withDb((db) =>
      db.query(`CREATE TABLE "${schema}".holders (checkpoint text PRIMARY KEY, holder text)`),
    );
    const children = ['a', 'b'].map((name) =>
      startChild(openChild, {
        DATABASE_URL: bouncer.url,
        DIRECT_URL: databaseUrl(),
        SCHEMA: schema,
        ID: 'shared',
        ROUNDS: String(ROUNDS),
        NAME: name,
      }),
    );
    const exits = await Promise.all(children.map((child) => child.exited));
    const said = children.flatMap((child) => child.lines);
    expect(exits.map((exit) => exit.stderr)).toEqual(['', '']);
    expect(said.filter((line) => !/^(held|locked) \d+$|^done$/.test(line))).toEqual([]);
    const held = said.filter((line) => line.startsWith('held')).length;
    expect(held).toBeGreaterThan(0);
    // Every save of every hold is there, and the lock is gone with the last run.
    const checkpoint = (await openStore(schema).load('shared'))!;
    expect(checkpoint.stats['saves']).toBe(3 * held);
    expect(await holders(schema, 'shared')).toEqual([]);
  });

  it('a run holds its lock on one backend, beats, and releases it on close', async () => {
    const schema = freshSchema('pool_hold');
    const store = openStore(schema, { connectionString: bouncer.url, maxConnections: 2 });
    const other = openStore(schema, { connectionString: bouncer.url, maxConnections: 2 });
    await store.migrate();
    const run = await openRun({ id: 'job', store, signals: false, worker: { leaseMs: 300 } });
    const [holder] = await holders(schema, 'job');
    expect(holder).toBeTypeOf('number');
    // Another store's tries, whichever backend the pooler gives them, are refused every time.
    for (let n = 0; n < 10; n++) {
      const refused = await openRun({ id: 'job', store: other, signals: false }).catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(CheckpointLockedError);
      await run.count('saves');
      await run.flush('between tries');
    }
    // Heartbeats (every 100 ms for a 300 ms lease) land and keep the lock where it was.
    const beat = async () =>
      withDb(async (db) =>
        (
          await db.query<{ at: Date }>(
            `SELECT heartbeat_at AS at FROM "${schema}".sessions WHERE status = 'running'`,
          )
        ).rows[0]!.at.getTime(),
      );
    const first = await beat();
    while ((await beat()) === first) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await holders(schema, 'job')).toEqual([holder]);
    await run.close();
    expect(await holders(schema, 'job')).toEqual([]);
    // Ended, not left running (nothing was planned: completed).
    const sessions = await store.sessions('job');
    expect(sessions.map((session) => session.status)).toEqual(['completed']);
    const next = await openRun({ id: 'job', store: other, signals: false });
    expect((await other.load('job'))!.stats['saves']).toBe(10);
    await next.close();
    expect(await holders(schema, 'job')).toEqual([]);
  });

  it(`${WORKERS} worker processes do each of ${UNITS} units exactly once`, async () => {
    const schema = freshSchema('pool_workers');
    await openStore(schema).migrate();
    const workers = Array.from({ length: WORKERS }, (_, n) =>
      startChild(workerChild, {
        DATABASE_URL: workerBouncer.url,
        SCHEMA: schema,
        ID: 'crawl',
        UNITS: String(UNITS),
        WORKER: `w${n}`,
        LEASE_MS: '30000',
        OUT: join(dir, `${mode}-w${n}.txt`),
      }),
    );
    const exits = await Promise.all(workers.map((worker) => worker.exited));
    expect(exits.map((exit) => [exit.code, exit.stderr])).toEqual(workers.map(() => [0, '']));
    const done = (
      await Promise.all(workers.map((_, n) => lines(join(dir, `${mode}-w${n}.txt`))))
    ).flat();
    expect(done).toHaveLength(UNITS);
    expect(new Set(done).size).toBe(UNITS);
    const checkpoint = (await openStore(schema).load('crawl'))!;
    expect(checkpoint.status).toBe('completed');
    const units = Object.values(checkpoint.units);
    expect(units.filter((unit) => unit.status !== 'complete' || unit.attempts !== 1)).toEqual([]);
    expect(await holders(schema, 'crawl')).toEqual([]);
  });

  it('migrations started by 4 processes at once apply each exactly once', async () => {
    const schema = freshSchema('pool_migrate');
    const children = Array.from({ length: 4 }, () =>
      startChild(migrateChild, {
        DATABASE_URL: bouncer.url,
        SCHEMA: schema,
        MIGRATIONS: fileURLToPath(new URL('../../migrations/', import.meta.url)),
      }),
    );
    const exits = await Promise.all(children.map((child) => child.exited));
    expect(exits.map((exit) => exit.stderr)).toEqual(children.map(() => ''));
    const said = children.flatMap((child) => child.lines).sort();
    expect(said).toEqual(['applied ', 'applied ', 'applied ', 'applied 1,2']);
    await withDb(async (db) => {
      const recorded = await db.query(
        `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
      );
      expect(recorded.rows).toEqual([{ version: 1 }, { version: 2 }]);
      // The migration lock is not left behind on a pooled backend.
      const left = await lockHolders(db, `checkpointkit:migrate:${schema}`);
      expect(left).toEqual([]);
    });
    await openStore(schema).migrate();
  });
});
