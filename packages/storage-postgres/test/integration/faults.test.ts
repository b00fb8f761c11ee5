import { randomUUID } from 'node:crypto';
import { always, openRun, type Run } from '@checkpointkit/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { committed } from '../../src/commit.js';
import { OutcomeUnknownError, PostgresStoreError } from '../../src/index.js';
import { DEFAULT_RETRY } from '../../src/retry.js';
import { tables } from '../../src/tables.js';
import { closeStores, databaseUrl, freshSchema, openStore, withDb } from '../helpers.js';
import { commitCutter } from '../proxy.js';

const KILLS = 50;

/** Terminates, from a connection of its own, the backends of `application` that are inside a transaction. */
async function terminateInTransaction(db: pg.Client, application: string): Promise<number> {
  const result = await db.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
     WHERE application_name = $1 AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`,
    [application],
  );
  return result.rows[0]!.n;
}

/** Waits until a backend of `application` waits on a lock, and returns its pid. */
async function blockedBackend(db: pg.Client, application: string): Promise<number> {
  for (;;) {
    const result = await db.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
      [application],
    );
    if (result.rows[0]) return result.rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The error `promise` rejects with, or `null`: held from the start, so it is never unhandled. */
function settled(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (error: unknown) => error,
  );
}

describe('the server terminating connections', () => {
  afterAll(closeStores);

  it(`loses nothing acknowledged when flushes are cut ${KILLS} times: each flush retries or fails loudly`, async () => {
    const application = `ck-fault-${Math.random().toString(36).slice(2, 8)}`;
    const store = openStore(freshSchema('fault'), { applicationName: application });
    const run = await openRun({ id: 'job:faults', store, strategy: always(), signals: false });
    const keys = Array.from({ length: 40 }, (_, i) => `unit/${i}`);
    await run.plan(keys);
    const killer = new pg.Client({ connectionString: databaseUrl() });
    await killer.connect();
    let kills = 0;
    let stop = false;
    let acknowledged = 0;
    const killing = (async () => {
      // Each round: wait until the run got a flush through, then cut the next flush in its middle.
      while (!stop && kills < KILLS) {
        const seen = acknowledged;
        while (!stop && acknowledged === seen)
          await new Promise((resolve) => setTimeout(resolve, 1));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        let cut = 0;
        while (!stop && cut === 0) cut = await terminateInTransaction(killer, application);
        kills += cut;
      }
    })();
    let loud = 0;
    let step = 0;
    let counted = 0;
    try {
      while (kills < KILLS) {
        const key = keys[step % keys.length]!;
        step += 1;
        try {
          await run.progress(key, {
            cursor: { page: step, url: `https://api.example/?page=${step}` },
            items: 1,
          });
          counted += 1;
          await run.count('steps');
          await run.mapId('steps', `s${step}`, step);
          acknowledged += 1;
        } catch (error) {
          // A failure is loud and typed; the run keeps what it could not save.
          expect(error).toBeInstanceOf(PostgresStoreError);
          expect(run.unsaved).toBeGreaterThan(0);
          loud += 1;
        }
      }
    } finally {
      stop = true;
      await killing;
      await killer.end();
    }
    await run.flush('after the faults');
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(acknowledged).toBeGreaterThan(0);
    // Exactly what the run recorded: nothing lost, nothing applied twice (counters, attempts, saves).
    const stored = await openStore(store.schema).load('job:faults');
    expect(stored).toEqual(run.checkpoint);
    expect(stored!.stats['steps']).toBe(counted);
    expect(Object.keys(stored!.idMaps['steps'] ?? {}).length).toBeLessThanOrEqual(counted);
    expect(acknowledged + loud).toBe(step);
    await run.close();
  });

  it('fails loudly when a cut flush cannot be retried, and saves its changes with the next flush', async () => {
    const application = `ck-cut-${Math.random().toString(36).slice(2, 8)}`;
    const store = openStore(freshSchema('cut'), {
      applicationName: application,
      retry: { attempts: 1 },
    });
    const run = await openRun({ id: 'job:cut', store, strategy: always(), signals: false });
    await run.plan(['a']);
    await withDb(async (db) => {
      // Hold the checkpoint row, so the next flush waits in the middle; then cut its connection.
      await db.query('BEGIN');
      await db.query(`SELECT 1 FROM "${store.schema}".checkpoints FOR UPDATE`);
      // Its outcome is taken at once: the cut can reach the run (and fail its flush) before the
      // terminate query's own answer comes back, and a rejection nobody holds yet is unhandled.
      const flushing = settled(run.progress('a', { cursor: 7, items: 3 }));
      const pid = await blockedBackend(db, application);
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await flushing).toBeInstanceOf(PostgresStoreError);
      await db.query('ROLLBACK');
    });
    expect(run.unsaved).toBeGreaterThan(0);
    expect((await store.load('job:cut'))!.units['a']!.cursor).toBeNull();
    await run.flush();
    expect(await store.load('job:cut')).toEqual(run.checkpoint);
    expect(run.unit('a')).toMatchObject({ cursor: 7, done: 3 });
    await run.close();
  });

  it('takes back a transaction whose connection was cut: no rows, no cursor, and the page can be written again', async () => {
    const application = `ck-tx-${Math.random().toString(36).slice(2, 8)}`;
    const schema = freshSchema('txcut');
    const store = openStore(schema, { applicationName: application });
    await store.migrate();
    await withDb((db) => db.query(`CREATE TABLE "${schema}".rows (n integer)`));
    const run: Run = await openRun({ id: 'job:tx', store, strategy: always(), signals: false });
    await run.plan(['a']);
    const page = (client: unknown) =>
      (client as pg.PoolClient).query(`INSERT INTO "${schema}".rows SELECT generate_series(1, 10)`);
    await withDb(async (db) => {
      await db.query('BEGIN');
      await db.query(`SELECT 1 FROM "${schema}".checkpoints FOR UPDATE`);
      const writing = settled(
        run.transaction(async (client) => {
          await page(client);
          await run.progress('a', { cursor: 1, items: 10 });
        }),
      );
      const pid = await blockedBackend(db, application);
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await writing).toBeInstanceOf(Error);
      await db.query('ROLLBACK');
      expect((await db.query(`SELECT count(*)::int AS n FROM "${schema}".rows`)).rows[0].n).toBe(0);
    });
    expect(run.unit('a')).toMatchObject({ cursor: null, done: 0 });
    await run.transaction(async (client) => {
      await page(client);
      await run.progress('a', { cursor: 1, items: 10 });
    });
    await withDb(async (db) => {
      expect((await db.query(`SELECT count(*)::int AS n FROM "${schema}".rows`)).rows[0].n).toBe(
        10,
      );
    });
    expect(await store.load('job:tx')).toEqual(run.checkpoint);
    await run.close();
  });

  it('applies a flush once when the server committed it but the reply was lost', async () => {
    const cutter = await commitCutter(databaseUrl());
    try {
      const schema = freshSchema('lost');
      const store = openStore(schema, { connectionString: cutter.url });
      const run = await openRun({ id: 'job:lost', store, strategy: always(), signals: false });
      await run.plan(['a']);
      await run.start('a');
      cutter.arm();
      await run.progress('a', { cursor: 2, items: 5 });
      cutter.arm();
      await run.count('requests', 3);
      cutter.arm();
      await run.complete('a', { items: 1 });
      expect(cutter.cuts).toBe(3);
      const stored = await openStore(schema).load('job:lost');
      expect(stored).toEqual(run.checkpoint);
      expect(stored!.stats['requests']).toBe(3);
      expect(stored!.units['a']).toMatchObject({ status: 'complete', attempts: 1, done: 6 });
      await run.close();
    } finally {
      await cutter.close();
    }
  });

  it('commits a transaction once when the server committed it but the reply was lost', async () => {
    const cutter = await commitCutter(databaseUrl());
    try {
      const schema = freshSchema('lostx');
      const store = openStore(schema, { connectionString: cutter.url });
      await store.migrate();
      await withDb((db) => db.query(`CREATE TABLE "${schema}".rows (n integer)`));
      const run = await openRun({ id: 'job:lostx', store, strategy: always(), signals: false });
      await run.plan(['a']);
      cutter.arm();
      const value = await run.transaction(async (client) => {
        await (client as pg.PoolClient).query(
          `INSERT INTO "${schema}".rows SELECT generate_series(1, 10)`,
        );
        await run.progress('a', { cursor: 1, items: 10 });
        return 'written';
      });
      expect(value).toBe('written');
      expect(cutter.cuts).toBe(1);
      await withDb(async (db) => {
        expect((await db.query(`SELECT count(*)::int AS n FROM "${schema}".rows`)).rows[0].n).toBe(
          10,
        );
      });
      expect(await openStore(schema).load('job:lostx')).toEqual(run.checkpoint);
      await run.close();
    } finally {
      await cutter.close();
    }
  });

  it('closes the run when a commit was cut and the server cannot be asked whether it committed', async () => {
    const cutter = await commitCutter(databaseUrl());
    try {
      const schema = freshSchema('unknown');
      const store = openStore(schema, {
        connectionString: cutter.url,
        retry: { attempts: 2, maxDelayMs: 20 },
      });
      const run = await openRun({ id: 'job:unknown', store, strategy: always(), signals: false });
      await run.plan(['a']);
      cutter.arm({ thenRefuse: true });
      const error = await run.count('requests').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect((error as OutcomeUnknownError).outcomeUnknown).toBe(true);
      // The run cannot know what the store holds: it is closed, and nothing is saved twice.
      expect(run.closed).toBe(true);
      cutter.accept();
      const reopened = await openRun({
        id: 'job:unknown',
        store: openStore(schema),
        signals: false,
      });
      expect(reopened.checkpoint.stats['requests']).toBe(1);
      await reopened.close();
    } finally {
      await cutter.close();
    }
  });

  it('asking whether a commit went through: a question whose answer was lost is not taken for the commit', async () => {
    const schema = freshSchema('asked');
    await openStore(schema).migrate();
    const pool = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
    try {
      const ctx = {
        pool,
        t: tables(schema),
        policy: { ...DEFAULT_RETRY, maxOutageMs: 2000, gaveUp: false },
      };
      const cause = new Error('Connection terminated unexpectedly');
      // A transaction that never committed: the first question takes its batch id. If that
      // question's answer is lost (its connection broke after the server ran it), the question
      // is asked again, and must still say "not committed".
      const lostPage = randomUUID();
      expect(await committed(ctx, 'job', lostPage, cause)).toBe(false);
      expect(await committed(ctx, 'job', lostPage, cause)).toBe(false);
      // A transaction that did commit: its batch id is there, and no question took it.
      const savedPage = randomUUID();
      await pool.query(
        `INSERT INTO "${schema}".flushes (batch_id, checkpoint) VALUES ($1, 'job')`,
        [savedPage],
      );
      expect(await committed(ctx, 'job', savedPage, cause)).toBe(true);
      expect(await committed(ctx, 'job', savedPage, cause)).toBe(true);
    } finally {
      await pool.end();
    }
  });
});
