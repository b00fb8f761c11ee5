import {
  always,
  CheckpointLockedError,
  everyUnits,
  LockLostError,
  openRun,
  pipeline,
  type Run,
  type Source,
  UnitTakenOverError,
} from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { transactionalSink } from '../../src/index.js';
import { closeStores, freshSchema, openStore, withDb } from '../helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function terminate(application: string): Promise<number> {
  return withDb(async (db) => {
    const result = await db.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
       FROM pg_stat_activity WHERE application_name = $1`,
      [application],
    );
    return result.rows[0]!.n;
  });
}

/**
 * Expires `key`'s lease until `run` claims it: the hung worker's heartbeat timer still runs in
 * this process and may renew the lease between the expiry and the claim on a loaded machine.
 */
async function claimExpired(schema: string, run: Run, key: string): Promise<void> {
  for (let tries = 0; tries < 50; tries++) {
    await withDb((db) =>
      db.query(
        `UPDATE "${schema}".units SET lease_expires_at = now() - interval '1 second' WHERE key = $1`,
        [key],
      ),
    );
    if ((await run.claim(1)).keys.includes(key)) return;
  }
  throw new Error(`${key} was never claimed`);
}

describe('locks and worker claims', () => {
  afterAll(closeStores);

  it('keeps exclusive runs and workers apart, naming who holds the checkpoint', async () => {
    const schema = freshSchema('holds');
    const alone = await openRun({ id: 'job', store: openStore(schema), signals: false });
    const refused = await openRun({
      id: 'job',
      store: openStore(schema),
      signals: false,
      worker: {},
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CheckpointLockedError);
    expect((refused as Error).message).toContain(`pid ${process.pid}`);
    await alone.close();
    const worker = await openRun({
      id: 'job',
      store: openStore(schema),
      signals: false,
      worker: { id: 'w1' },
    });
    const second = await openRun({
      id: 'job',
      store: openStore(schema),
      signals: false,
      worker: { id: 'w2' },
    });
    await expect(
      openRun({ id: 'job', store: openStore(schema), signals: false }),
    ).rejects.toBeInstanceOf(CheckpointLockedError);
    await worker.close();
    await second.close();
    const again = await openRun({ id: 'job', store: openStore(schema), signals: false });
    await again.close();
  });

  it('takes the lock again when its connection breaks, and reports it lost when another run got it meanwhile', async () => {
    const schema = freshSchema('relock');
    const application = `ck-relock-${Math.random().toString(36).slice(2, 8)}`;
    const store = openStore(schema, { applicationName: application });
    const run = await openRun({ id: 'job', store, strategy: always(), signals: false });
    await run.plan(['a']);
    expect(await terminate(application)).toBeGreaterThan(0);
    await sleep(50);
    // Nobody else took it: the run goes on.
    await run.count('after-reconnect');
    expect((await store.load('job'))?.stats['after-reconnect']).toBe(1);

    // Another process takes the lock in the moment the connection is gone: it waits for the
    // lock before the connection is cut, so it is first in line (the run, reconnecting, only
    // tries to take it again; a thief that also only tried could lose that race for ever).
    await withDb(async (thief) => {
      const key = `checkpointkit:${schema}:job`;
      const pid = (await thief.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const taking = thief.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
      await withDb(async (watcher) => {
        let waiting = false;
        while (!waiting) {
          const result = await watcher.query(
            "SELECT count(*)::int AS n FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted",
            [pid],
          );
          waiting = result.rows[0].n > 0;
          if (!waiting) await sleep(10);
        }
      });
      expect(await terminate(application)).toBeGreaterThan(0);
      await taking;
      const lost = await run.count('too-late').catch((error: unknown) => error);
      expect(lost).toBeInstanceOf(LockLostError);
      expect((lost as Error).message).toContain('could not be taken again');
    });
    expect((await store.load('job'))?.stats['too-late']).toBeUndefined();
    await run.abandon();
  });

  it('claims disjoint units for concurrent workers with FOR UPDATE SKIP LOCKED', async () => {
    const schema = freshSchema('claims');
    const runs = await Promise.all(
      [1, 2, 3].map((n) =>
        openRun({
          id: 'job',
          store: openStore(schema),
          signals: false,
          worker: { id: `w${n}`, leaseMs: 60_000 },
        }),
      ),
    );
    await runs[0]!.plan(Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(2, '0')}`));
    await runs[0]!.flush();
    const claims = await Promise.all(runs.map((run) => run.claim(12)));
    const keys = claims.flatMap((claim) => claim.keys);
    expect(keys).toHaveLength(30);
    expect(new Set(keys).size).toBe(30);
    for (const [n, claim] of claims.entries()) {
      for (const key of claim.keys)
        expect(runs[n]!.unit(key)).toMatchObject({ status: 'in_progress', attempts: 1 });
    }
    const none = await runs[0]!.claim(5);
    expect(none.keys).toEqual([]);
    expect(none.leasedElsewhere).toBe(30 - claims[0]!.keys.length);
    expect(none.nextExpiry).not.toBeNull();
    await withDb(async (db) => {
      const owners = await db.query(
        `SELECT lease_owner, count(*)::int AS n FROM "${schema}".units GROUP BY 1 ORDER BY 1`,
      );
      expect(owners.rows.map((row) => row.n).reduce((a: number, b: number) => a + b, 0)).toBe(30);
      expect(owners.rows.every((row) => row.lease_owner !== null)).toBe(true);
    });
    for (const run of runs) await run.close();
    // Closing gave the leases back: the units are free for the next worker.
    await withDb(async (db) => {
      const leased = await db.query(
        `SELECT count(*)::int AS n FROM "${schema}".units WHERE lease_owner IS NOT NULL`,
      );
      expect(leased.rows[0].n).toBe(0);
    });
  });

  it('returns a unit whose lease expired with one attempt more, renews leases on progress, and fences the late worker', async () => {
    const schema = freshSchema('lease');
    const slow = await openRun({
      id: 'job',
      store: openStore(schema),
      signals: false,
      strategy: always(),
      // A lease long enough that heartbeats keep it on a loaded CI machine; the test expires it by hand.
      worker: { id: 'slow', leaseMs: 5_000 },
    });
    await slow.plan(['a', 'b']);
    await slow.flush();
    expect((await slow.claim(1)).keys).toEqual(['a']);
    const expiry = async () =>
      withDb(async (db) => {
        const row = await db.query(
          `SELECT lease_expires_at FROM "${schema}".units WHERE key = 'a'`,
        );
        return (row.rows[0].lease_expires_at as Date).getTime();
      });
    const before = await expiry();
    await sleep(30);
    await slow.progress('a', { cursor: 1, items: 1 });
    expect(await expiry()).toBeGreaterThan(before);

    const fast = await openRun({
      id: 'job',
      store: openStore(schema),
      signals: false,
      strategy: always(),
      worker: { id: 'fast', leaseMs: 60_000 },
    });
    // While the slow worker lives its heartbeat keeps the lease: only b is free.
    const first = await fast.claim(5);
    expect(first.keys).toEqual(['b']);
    expect(first.leasedElsewhere).toBe(1);
    // The slow worker hangs (its heartbeats stop); its lease runs out. Its heartbeat timer still
    // runs in this process, and on a loaded machine one may renew the lease between the expiry
    // and the claim (CI saw it): then the unit is rightly not free, and the test expires it again.
    let second = { keys: [] as string[], leasedElsewhere: 0 };
    for (let tries = 0; tries < 50 && second.keys.length === 0; tries++) {
      await withDb((db) =>
        db.query(
          `UPDATE "${schema}".units SET lease_expires_at = now() - interval '1 second' WHERE key = 'a'`,
        ),
      );
      second = await fast.claim(5);
      if (second.keys.length === 0) expect(second.leasedElsewhere).toBe(1);
    }
    expect(second.keys).toEqual(['a']);
    expect(fast.unit('a')).toMatchObject({
      status: 'in_progress',
      attempts: 2,
      cursor: 1,
      done: 1,
    });
    // The slow worker wakes up and saves progress on a unit that is no longer its own: left out
    // of its flush (the new owner does the unit), while the rest of the flush is saved.
    await slow.progress('a', { cursor: 2, items: 1 });
    await slow.count('slow-requests');
    const stored = await openStore(schema).load('job');
    expect(stored!.units['a']).toMatchObject({
      status: 'in_progress',
      attempts: 2,
      cursor: 1,
      done: 1,
    });
    expect(stored!.stats['slow-requests']).toBe(1);
    // In a transaction (rows of its own in the same commit) the stale page is refused whole.
    const refused = await slow
      .transaction(async () => {
        await slow.progress('a', { cursor: 3, items: 1 });
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnitTakenOverError);
    expect(refused).toMatchObject({ key: 'a', worker: 'slow' });
    const sessions = await openStore(schema).sessions('job');
    expect(sessions.find((s) => s.worker === 'slow')).toMatchObject({ status: 'failed' });
    await fast.complete('a');
    await fast.complete('b');
    const finished = await fast.finish();
    expect(finished.summary.status).toBe('completed');
    await slow.abandon();
  });

  it('leaves out the work of a late worker on a unit another worker took over and finished, and commits its next transaction past that stale work', async () => {
    const schema = freshSchema('late');
    const join = (worker: string, strategy = always()) =>
      openRun({
        id: 'job',
        store: openStore(schema),
        signals: false,
        strategy,
        worker: { id: worker, leaseMs: 5_000 },
      });
    // Saves only when asked: its stale changes wait in its buffer for the next save.
    const late = await join('late', everyUnits(1000));
    await late.plan(['a', 'b']);
    await late.flush();
    expect((await late.claim(1)).keys).toEqual(['a']);
    await late.progress('a', { cursor: 1, items: 1 });
    await late.flush();
    // It hangs; its lease on a runs out and another worker takes a over and finishes it.
    const other = await join('other');
    await claimExpired(schema, other, 'a');
    await other.progress('a', { cursor: 2, items: 1 });
    await other.complete('a');
    const finished = { status: 'complete', cursor: 2, done: 2, attempts: 2 };
    // The late worker wakes up and carries on with a, its changes buffered (before, its next
    // save set the finished unit's cursor back to 3 as a page of its own). Then it works on b,
    // a unit of its own, in a transaction, which commits what it buffered too: a's changes are
    // left out, b's page and row commit.
    await late.progress('a', { cursor: 3, items: 1 });
    await late.complete('a');
    expect((await late.claim(1)).keys).toEqual(['b']);
    await withDb((db) => db.query(`CREATE TABLE "${schema}".rows (unit text)`));
    await late.transaction(async (client) => {
      await (client as import('pg').PoolClient).query(`INSERT INTO "${schema}".rows VALUES ('b')`);
      await late.progress('b', { cursor: 1, items: 1 });
    });
    expect(late.unsaved).toBe(0);
    // Now it knows: its next work on a is refused at once.
    await expect(late.progress('a', { cursor: 4, items: 1 })).rejects.toBeInstanceOf(
      UnitTakenOverError,
    );
    const stored = (await openStore(schema).load('job'))!;
    expect(stored.units['a']).toMatchObject(finished);
    expect(stored.units['b']).toMatchObject({ status: 'in_progress', cursor: 1, done: 1 });
    const rows = await withDb((db) => db.query(`SELECT unit FROM "${schema}".rows`));
    expect(rows.rows).toEqual([{ unit: 'b' }]);
    await other.close();
    await late.close();
  });

  it('refuses at once the next work of a worker on a unit its flush found taken over, until it claims that unit again', async () => {
    const schema = freshSchema('again');
    const join = (worker: string) =>
      openRun({
        id: 'job',
        store: openStore(schema),
        signals: false,
        strategy: always(),
        worker: { id: worker, leaseMs: 5_000 },
      });
    const w = await join('w');
    await w.plan(['a']);
    await w.flush();
    expect((await w.claim(1)).keys).toEqual(['a']);
    const other = await join('other');
    await claimExpired(schema, other, 'a');
    // Its flush finds a taken over and leaves its progress out; its next work on a is refused
    // before it is recorded, so a pipeline lets the unit go instead of working it to its end.
    await w.progress('a', { cursor: 1, items: 1 });
    await expect(w.progress('a', { cursor: 2, items: 1 })).rejects.toBeInstanceOf(
      UnitTakenOverError,
    );
    await expect(w.complete('a')).rejects.toMatchObject({ key: 'a', worker: 'w' });
    // The other worker goes away with a unfinished: w claims it again and may work on it.
    await other.abandon();
    await claimExpired(schema, w, 'a');
    await w.progress('a', { cursor: 2, items: 1 });
    await w.complete('a');
    const stored = (await openStore(schema).load('job'))!;
    expect(stored.units['a']).toMatchObject({ status: 'complete', cursor: 2, attempts: 3 });
    await w.close();
  });

  it('claims failed units only when asked, and only those that failed before the given time', async () => {
    const schema = freshSchema('retry');
    const run = await openRun({
      id: 'job',
      store: openStore(schema),
      signals: false,
      strategy: everyUnits(1),
      worker: { id: 'w', leaseMs: 60_000 },
    });
    await run.plan(['retryable', 'fatal']);
    await run.flush();
    await run.claim(2);
    await run.fail('retryable', new Error('503'), { retryable: true });
    await run.fail('fatal', new Error('404'), { retryable: false });
    await run.flush();
    expect((await run.claim(5)).keys).toEqual([]);
    const before = new Date(Date.now() - 60_000).toISOString();
    expect((await run.claim(5, { retryFailed: 'retryable', failedBefore: before })).keys).toEqual(
      [],
    );
    const now = new Date(Date.now() + 1000).toISOString();
    expect((await run.claim(5, { retryFailed: 'retryable', failedBefore: now })).keys).toEqual([
      'retryable',
    ]);
    expect((await run.claim(5, { retryFailed: true, failedBefore: now })).keys).toEqual(['fatal']);
    expect(run.unit('fatal')).toMatchObject({ status: 'in_progress', attempts: 2, error: null });
    await run.close();
  });

  it('lets workers in one process share a job with a transactional sink: every item written once', async () => {
    const schema = freshSchema('txworkers');
    const setup = openStore(schema);
    await setup.migrate();
    await withDb((db) => db.query(`CREATE TABLE "${schema}".items (unit text, n integer)`));
    // Each worker reads through a source of its own that holds its first page until every
    // worker has started one: the work is then shared however the machine schedules the three.
    const workers = ['a', 'b', 'c'];
    const reading = new Set<string>();
    let allReading = () => {};
    const everyoneReads = new Promise<void>((resolve) => {
      allReading = resolve;
    });
    const sourceOf = (worker: string): Source<{ unit: string; n: number }> => ({
      units: () => Array.from({ length: 60 }, (_, i) => ({ key: `u${i}`, total: 9 })),
      async *read({ key, cursor }) {
        reading.add(worker);
        if (reading.size === workers.length) allReading();
        await everyoneReads;
        for (let page = (cursor as number | null) ?? 0; page < 3; page++) {
          await sleep(1);
          yield { items: [0, 1, 2].map((i) => ({ unit: key, n: page * 3 + i })), cursor: page + 1 };
        }
      },
    });
    const sink = transactionalSink<{ unit: string; n: number }>(async (client, items) => {
      await client.query(
        `INSERT INTO "${schema}".items SELECT * FROM unnest($1::text[], $2::int[])`,
        [items.map((item) => item.unit), items.map((item) => item.n)],
      );
    });
    const runs = await Promise.all(
      workers.map((id) =>
        openRun({
          id: 'job',
          store: openStore(schema),
          signals: false,
          strategy: everyUnits(5),
          worker: { id },
        }),
      ),
    );
    const results = await Promise.all(
      runs.map((run, n) =>
        pipeline({ run, source: sourceOf(workers[n]!), sink, concurrency: 2, claimBatch: 4 }),
      ),
    );
    expect(results.reduce((sum, result) => sum + result.completed, 0)).toBe(60);
    expect(results.every((result) => result.completed > 0)).toBe(true);
    for (const run of runs) await run.finish();
    await withDb(async (db) => {
      const counts = await db.query(
        `SELECT count(*)::int AS total, count(DISTINCT (unit, n))::int AS distinct_items FROM "${schema}".items`,
      );
      expect(counts.rows[0]).toEqual({ total: 540, distinct_items: 540 });
    });
    const stored = (await setup.load('job'))!;
    expect(stored.status).toBe('completed');
    expect(
      Object.values(stored.units).every((unit) => unit.status === 'complete' && unit.done === 9),
    ).toBe(true);
  });
});
