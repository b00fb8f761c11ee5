/**
 * PostgreSQL store: unit completions per second when a flush batches them, against one UPDATE
 * per change; and the throughput of 1, 2 and 4 worker processes sharing one checkpoint.
 * Server: a throwaway cluster (initdb + pg_ctl) started here, or DATABASE_URL.
 * This file is also the worker process of the scaling figure (CK_BENCH_WORKER set).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { everyUnits, openRun, pipeline, type Source } from '@checkpointkit/core';
import { postgresStore, startTestCluster, type TestCluster } from '@checkpointkit/storage-postgres';
import { note, report, type Suite, skipped } from '../lib.js';

const COMPLETIONS = 20_000;
const FLUSH_EVERY = 1000;
const BASELINE_COMPLETIONS = 4_000;
const WORKER_UNITS = 2_000;
/** Each page costs this much outside the database (an API call, say), as a crawler's would. */
const PAGE_LATENCY_MS = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function completions(url: string, goal: number | undefined): Promise<void> {
  const schema = 'bench_completions';
  const store = postgresStore({ connectionString: url, schema });
  await store.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const settings = await store.pool.query<{ fsync: string; commit: string }>(
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS commit`,
  );
  const server = `fsync ${settings.rows[0]!.fsync}, synchronous_commit ${settings.rows[0]!.commit}`;
  const id = 'bench:completions';
  const keys = Array.from({ length: COMPLETIONS + BASELINE_COMPLETIONS }, (_, i) => `unit/${i}`);
  const run = await openRun({ id, store, strategy: everyUnits(FLUSH_EVERY), signals: false });
  await run.plan(keys);
  await run.flush('planned');

  let start = performance.now();
  for (const key of keys.slice(0, COMPLETIONS)) await run.complete(key, { items: 1 });
  await run.flush('done');
  const batched = COMPLETIONS / ((performance.now() - start) / 1000);
  await run.close();

  // The seeds' way: one UPDATE per completed unit, each its own transaction.
  const admin = await store.pool.connect();
  const baselineKeys = keys.slice(COMPLETIONS);
  start = performance.now();
  for (const key of baselineKeys) {
    await admin.query(
      `UPDATE ${schema}.units SET status = 'complete', done = done + 1, completed_at = now()
       WHERE checkpoint = $1 AND key = $2`,
      [id, key],
    );
  }
  const perChange = BASELINE_COMPLETIONS / ((performance.now() - start) / 1000);
  report({
    what: `unit completions per second (${COMPLETIONS.toLocaleString('en')} units, a flush every ${FLUSH_EVERY}; server: ${server})`,
    subject: {
      label: `postgresStore, batched flushes of ${FLUSH_EVERY}`,
      value: batched,
      unit: 'units/s',
    },
    baseline: { label: 'one UPDATE per completed unit', value: perChange, unit: 'units/s' },
    kind: 'throughput',
    ...(goal !== undefined && { goal }),
  });
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  admin.release();
  await store.close();
}

/** Starts `count` worker processes on one checkpoint; resolves with units per second once all ended. */
async function workers(url: string, schema: string, count: number): Promise<number> {
  const id = `bench:workers-${count}`;
  const file = fileURLToPath(import.meta.url);
  const children = Array.from({ length: count }, (_, n) =>
    spawn(process.execPath, ['--import', 'tsx', file], {
      env: {
        ...process.env,
        CK_BENCH_WORKER: '1',
        DATABASE_URL: url,
        SCHEMA: schema,
        ID: id,
        WORKER: `w${n}`,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  // Each worker starts (tsx, imports, openRun), says `ready`, and waits for `go`: startup is not timed.
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.stdout!.setEncoding('utf8').on('data', (text: string) => {
            if (text.includes('ready')) resolve();
          });
          child.on('exit', (code) => reject(new Error(`bench worker exited early (${code})`)));
        }),
    ),
  );
  const start = performance.now();
  const ended = children.map(
    (child) =>
      new Promise<void>((resolve, reject) =>
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`bench worker failed (${code})`)),
        ),
      ),
  );
  for (const child of children) child.stdin!.end('go\n');
  await Promise.all(ended);
  return WORKER_UNITS / ((performance.now() - start) / 1000);
}

async function scaling(url: string): Promise<void> {
  const schema = 'bench_workers';
  const store = postgresStore({ connectionString: url, schema });
  await store.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await store.migrate();
  const rates = new Map<number, number>();
  for (const count of [1, 2, 4]) rates.set(count, await workers(url, schema, count));
  for (const [count, rate] of rates) {
    note(
      `${count} worker${count === 1 ? '' : 's'}, ${WORKER_UNITS} units (${PAGE_LATENCY_MS} ms of I/O per page)`,
      `${rate.toFixed(0)} units/s`,
    );
  }
  for (const count of [2, 4]) {
    report({
      what: `${count} worker processes against 1, one shared checkpoint`,
      subject: { label: `${count} workers`, value: rates.get(count)!, unit: 'units/s' },
      baseline: { label: '1 worker', value: rates.get(1)!, unit: 'units/s' },
      kind: 'throughput',
    });
  }
  await store.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await store.close();
}

/** One worker of the scaling figure: claims units until none is left. */
async function worker(): Promise<void> {
  const env = (name: string) => process.env[name] ?? '';
  const store = postgresStore({ schema: env('SCHEMA'), migrate: false, maxConnections: 4 });
  const source: Source<number> = {
    units: () => Array.from({ length: WORKER_UNITS }, (_, i) => ({ key: `unit/${i}` })),
    async *read() {
      await sleep(PAGE_LATENCY_MS);
      yield { items: [1], cursor: 1 };
    },
  };
  const run = await openRun({
    id: env('ID'),
    store,
    strategy: everyUnits(20),
    signals: false,
    worker: { id: env('WORKER'), leaseMs: 10_000 },
  });
  // Plan before the clock starts, like a job that has been running.
  await run.plan(
    source.units({ run, signal: new AbortController().signal }) as Iterable<{ key: string }>,
  );
  await run.flush('planned');
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  await pipeline({ run, source, sink: { write: () => undefined }, concurrency: 8, claimBatch: 20 });
  await run.finish();
  await store.close();
}

const suite: Suite = {
  name: 'storage-postgres: batched flushes, worker scaling',
  async run() {
    const clusters: TestCluster[] = [];
    try {
      const given = process.env['DATABASE_URL'];
      if (given) {
        await completions(given, 10);
        await scaling(given);
        return;
      }
      // A server as in production (durable commits), and one as in the tests (fsync off): the
      // first is the figure that counts; the second shows what is left once a commit is cheap.
      let durable: TestCluster;
      try {
        durable = await startTestCluster({ durable: true });
      } catch (error) {
        skipped('the PostgreSQL suite', `no PostgreSQL server: ${(error as Error).message}`);
        return;
      }
      clusters.push(durable);
      await completions(durable.url, 10);
      const fast = await startTestCluster();
      clusters.push(fast);
      await completions(fast.url, undefined);
      await scaling(durable.url);
    } finally {
      for (const cluster of clusters) await cluster.stop();
    }
  },
};
export default suite;

if (process.env['CK_BENCH_WORKER']) {
  await worker();
  process.exit(0);
}
