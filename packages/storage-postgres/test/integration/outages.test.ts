/**
 * The server breaking under running jobs, on a server of this file's own (it is restarted and
 * stopped): every connection of the workers terminated again and again, a restart mid-run, an
 * outage longer than the store's bound, and a server that accepts connections and never answers.
 * The job must finish in the same run with every item delivered once, or stop with a clear error.
 */
import { createServer, type Server } from 'node:net';
import { everyUnits, openRun, pipeline, type Run, type Source } from '@checkpointkit/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatabaseUnavailableError,
  OutcomeUnknownError,
  type PostgresStore,
  postgresStore,
  startTestCluster,
  type TestCluster,
  transactionalSink,
} from '../../src/index.js';
import { bundleChild, startChild } from '../children.js';
import { freshSchema } from '../helpers.js';

const WORKERS = 4;
const UNITS = 3000;
const ROUNDS = 6;

let cluster: TestCluster;
const stores: PostgresStore[] = [];
beforeAll(async () => {
  cluster = await startTestCluster();
});
afterAll(async () => {
  for (const store of stores) await store.close().catch(() => {});
  await cluster?.stop();
});

function store(schema: string, options: Parameters<typeof postgresStore>[0] = {}): PostgresStore {
  const made = postgresStore({
    connectionString: cluster.url,
    schema,
    maxConnections: 6,
    ...options,
  });
  stores.push(made);
  return made;
}

async function query<T extends pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: cluster.url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Terminates every backend of `application`; returns how many. */
async function terminateAll(application: string): Promise<number> {
  const rows = await query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
     WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [application],
  );
  return rows[0]!.n;
}

/** What the job left in the database: units by status, stuck leases, live sessions, rows. */
async function outcome(schema: string, id: string) {
  const [units] = await query<{ complete: number; other: number; leased: number }>(
    `SELECT count(*) FILTER (WHERE status = 'complete')::int AS complete,
            count(*) FILTER (WHERE status <> 'complete')::int AS other,
            count(*) FILTER (WHERE lease_owner IS NOT NULL)::int AS leased
     FROM "${schema}".units WHERE checkpoint = $1`,
    [id],
  );
  const [rows] = await query<{ total: number; distinct_items: number }>(
    `SELECT count(*)::int AS total, count(DISTINCT (unit, n))::int AS distinct_items
     FROM "${schema}".delivered`,
  );
  const [sessions] = await query<{ running: number }>(
    `SELECT count(*) FILTER (WHERE status = 'running')::int AS running
     FROM "${schema}".sessions WHERE checkpoint = $1`,
    [id],
  );
  const [checkpoint] = await query<{ status: string }>(
    `SELECT status FROM "${schema}".checkpoints WHERE id = $1`,
    [id],
  );
  return { ...units!, ...rows!, ...sessions!, status: checkpoint?.status };
}

async function createDelivered(schema: string): Promise<void> {
  await query(`CREATE TABLE "${schema}".delivered (unit text NOT NULL, n integer NOT NULL)`);
}

const pagesOf = (units: number): Source<{ unit: string; n: number }> => ({
  units: () => Array.from({ length: units }, (_, i) => ({ key: `u${String(i).padStart(4, '0')}` })),
  async *read({ key }) {
    yield { items: [0, 1].map((n) => ({ unit: key, n })), cursor: 1 };
  },
});

/**
 * The DatabaseUnavailableError a run stopped with after an outage longer than `bound`, checked to
 * name the bound and the cause. When a commit was cut as the server went down, the run also
 * cannot know whether that commit went through, and says so around the same error.
 */
function outageOf(error: unknown, bound: number): DatabaseUnavailableError {
  const down = error instanceof OutcomeUnknownError ? error.cause : error;
  expect(down).toBeInstanceOf(DatabaseUnavailableError);
  const outage = down as DatabaseUnavailableError;
  expect(outage.message).toContain(`retry.maxOutageMs is ${bound} ms`);
  expect(outage.message).toMatch(/ECONNREFUSED|terminat|shut/i);
  return outage;
}

describe('PostgreSQL breaking under running jobs', () => {
  it(`${WORKERS} worker processes with the exactly-once sink finish ${UNITS} units in the same run through ${ROUNDS - 1} rounds of terminated connections and a server restart`, async () => {
    const child = await bundleChild('outage-worker-child');
    const schema = freshSchema('outage');
    const admin = store(schema);
    await admin.migrate();
    await createDelivered(schema);
    const app = `ck-outage-${Math.random().toString(36).slice(2, 8)}`;
    const id = 'crawl:outage';
    const workers = Array.from({ length: WORKERS }, (_, n) =>
      startChild(child, {
        DATABASE_URL: cluster.url,
        SCHEMA: schema,
        ID: id,
        UNITS: String(UNITS),
        WORKER: `w${n}`,
        APP: app,
      }),
    );
    const pages = () =>
      workers.reduce((sum, w) => sum + w.lines.filter((l) => l === 'page').length, 0);
    const running = () =>
      workers.some((w) => w.process.exitCode === null && w.process.signalCode === null);
    const faults: string[] = [];
    for (let round = 1; round <= ROUNDS && running(); round++) {
      // Each fault after another tenth of the job was committed: all of them hit a running job.
      while (running() && pages() < (round * UNITS) / (ROUNDS + 2)) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (!running()) break;
      if (round === Math.ceil(ROUNDS / 2)) {
        await cluster.restart();
        faults.push('restart');
      } else {
        faults.push(`terminated ${await terminateAll(app)}`);
      }
    }
    const exits = await Promise.all(workers.map((w) => w.exited));
    for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null, stderr: '' });
    expect(faults).toContain('restart');
    expect(faults.length).toBe(ROUNDS);
    expect(await outcome(schema, id)).toEqual({
      complete: UNITS,
      other: 0,
      leased: 0,
      total: UNITS * 2,
      distinct_items: UNITS * 2,
      running: 0,
      status: 'completed',
    });
  });

  it('one process at concurrency 4 finishes in the same run through terminated connections and a restart, every item once', async () => {
    const schema = freshSchema('outage1');
    const app = `ck-outage1-${Math.random().toString(36).slice(2, 8)}`;
    const s = store(schema, { applicationName: app });
    await s.migrate();
    await createDelivered(schema);
    const id = 'crawl:exclusive';
    const run = await openRun({ id, store: s, strategy: everyUnits(10), signals: false });
    let pages = 0;
    const faults: Promise<unknown>[] = [];
    const units = 800;
    const result = await pipeline({
      run,
      source: pagesOf(units),
      sink: transactionalSink<{ unit: string; n: number }>(async (client, items) => {
        await client.query(
          `INSERT INTO "${schema}".delivered (unit, n) SELECT * FROM unnest($1::text[], $2::int[])`,
          [items.map((i) => i.unit), items.map((i) => i.n)],
        );
      }),
      concurrency: 4,
      onProgress: (event) => {
        if (event.type !== 'page') return;
        pages += 1;
        if (pages % 150 === 0) faults.push(pages === 450 ? cluster.restart() : terminateAll(app));
      },
    });
    await Promise.all(faults);
    expect(faults.length).toBeGreaterThanOrEqual(4);
    expect(result).toMatchObject({ completed: units, failed: 0, aborted: false });
    await run.finish({ cleanup: false });
    expect(await outcome(schema, id)).toEqual({
      complete: units,
      other: 0,
      leased: 0,
      total: units * 2,
      distinct_items: units * 2,
      running: 0,
      status: 'completed',
    });
  });

  it('a sink statement that fails takes back only its own page: what the other units recorded meanwhile is saved', async () => {
    const schema = freshSchema('outage3');
    const s = store(schema);
    await s.migrate();
    await createDelivered(schema);
    const id = 'crawl:one-fails';
    const run = await openRun({
      id,
      store: s,
      strategy: everyUnits(5),
      signals: false,
      autoCleanup: false,
    });
    const units = 40;
    const result = await pipeline({
      run,
      source: pagesOf(units),
      sink: transactionalSink<{ unit: string; n: number }>(async (client, items) => {
        // One unit's rows break a constraint of the table: its transaction fails.
        const bad = items[0]!.unit === 'u0013';
        await client.query(
          `INSERT INTO "${schema}".delivered (unit, n) SELECT * FROM unnest($1::text[], $2::int[])`,
          [items.map((i) => (bad ? null : i.unit)), items.map((i) => i.n)],
        );
      }),
      concurrency: 4,
    });
    expect(result).toMatchObject({ completed: units - 1, failed: 1 });
    expect(run.summary().counts).toMatchObject({
      complete: units - 1,
      failed: 1,
      pending: 0,
      in_progress: 0,
    });
    await run.close('completed');
    const [stored] = await query<{ complete: number; failed: number; open: number }>(
      `SELECT count(*) FILTER (WHERE status = 'complete')::int AS complete,
              count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE status IN ('pending', 'in_progress'))::int AS open
       FROM "${schema}".units WHERE checkpoint = $1`,
      [id],
    );
    expect(stored).toEqual({ complete: units - 1, failed: 1, open: 0 });
    expect((await outcome(schema, id)).total).toBe((units - 1) * 2);
  });

  it('stops with DatabaseUnavailableError naming the cause when an outage outlasts retry.maxOutageMs, and the next run goes on', async () => {
    const schema = freshSchema('outage2');
    const bound = 1500;
    const s = store(schema, { retry: { maxOutageMs: bound } });
    await s.migrate();
    const id = 'crawl:down';
    let run: Run = await openRun({ id, store: s, strategy: everyUnits(1), signals: false });
    let pages = 0;
    let paused: Promise<void> | undefined;
    const error = await pipeline({
      run,
      source: pagesOf(200),
      sink: { write: () => undefined },
      onProgress: (event) => {
        if (event.type === 'page' && ++pages === 50) paused = cluster.pause();
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    await paused;
    const down = outageOf(error, bound);
    expect(down.elapsedMs).toBeGreaterThanOrEqual(bound);
    expect(down.tries).toBeGreaterThan(1);
    expect(Object.values(run.checkpoint.units).filter((u) => u.status === 'failed')).toEqual([]);
    await run.close().catch(() => {});
    await cluster.resume();
    // The lock went with the connections; the next run resumes and finishes.
    run = await openRun({ id, store: s, strategy: everyUnits(1), signals: false });
    expect(run.resumed).toBe(true);
    const done = await pipeline({ run, source: pagesOf(200), sink: { write: () => undefined } });
    expect(done.summary.counts.complete).toBe(200);
    expect(done.completed).toBeLessThan(200);
    await run.finish();
  });

  it('reports the outage, not a lost lock, when the lock could not be taken again because the server stayed down', async () => {
    // The other order of the test above: the run is idle when the server goes, so the lock's
    // connection breaks and gives up first, and the next flush finds the hold already lost.
    const schema = freshSchema('outage3');
    const bound = 1000;
    const s = store(schema, { retry: { maxOutageMs: bound } });
    await s.migrate();
    const id = 'crawl:idle';
    let run: Run = await openRun({ id, store: s, strategy: everyUnits(1), signals: false });
    await run.plan(['a', 'b']);
    await run.flush('planned');
    await cluster.pause();
    try {
      // Longer than the bound: the hold has tried to take the lock again and given up.
      await new Promise((resolve) => setTimeout(resolve, bound * 2.5));
      await run.count('after-outage');
      const error = await run.flush('after the outage').then(
        () => null,
        (e: unknown) => e,
      );
      outageOf(error, bound);
    } finally {
      await cluster.resume();
    }
    await run.close().catch(() => {});
    run = await openRun({ id, store: s, strategy: everyUnits(1), signals: false });
    expect(run.resumed).toBe(true);
    expect(run.pending()).toEqual(['a', 'b']);
    await run.finish();
  });

  it('gives up on a server that accepts connections and never answers, within the connect timeout and the retry bound', async () => {
    const silent: Server = createServer(() => {}); // accepts, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const viaOption = postgresStore({
        connectionString: `postgres://u@127.0.0.1:${port}/db`,
        connectTimeoutMs: 200,
        retry: { maxOutageMs: 600 },
      });
      stores.push(viaOption);
      const error = await openRun({ id: 'x', store: viaOption, signals: false }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toContain(
        `migrating schema "checkpointkit" on 127.0.0.1:${port}/db`,
      );
      expect((error as Error).message).toMatch(/timeout/);
      // The URL's connect_timeout (seconds) is honoured when no option is given.
      const viaUrl = postgresStore({
        connectionString: `postgres://u@127.0.0.1:${port}/db?connect_timeout=1`,
        retry: { maxOutageMs: 100 },
      });
      stores.push(viaUrl);
      const started = process.hrtime.bigint();
      const second = await openRun({ id: 'x', store: viaUrl, signals: false }).catch(
        (e: unknown) => e,
      );
      expect(second).toBeInstanceOf(DatabaseUnavailableError);
      expect((second as DatabaseUnavailableError).elapsedMs).toBeGreaterThanOrEqual(900);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(900);
    } finally {
      silent.close();
    }
  });
});
