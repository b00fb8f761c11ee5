import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { everyUnits, openRun } from '@checkpointkit/core';
import { postgresStore, startTestCluster, type TestCluster } from '@checkpointkit/storage-postgres';
import { report, type Suite, skipped } from '../lib.js';
import { scaling } from '../postgres-workers.js';

const COMPLETIONS = 20_000;
const FLUSH_EVERY = 1000;
const BASELINE_COMPLETIONS = 4_000;

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

const suite: Suite = {
  name: 'storage-postgres: batched flushes, worker scaling',
  async run() {
    const clusters: TestCluster[] = [];
    try {
      const given = process.env['DATABASE_URL'];
      if (given) {
        await completions(given, 10);
        await scaling(given, undefined);
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
      await scaling(durable.url, join(durable.dir, 'data'));
    } finally {
      for (const cluster of clusters) await cluster.stop();
    }
  },
};
export default suite;
