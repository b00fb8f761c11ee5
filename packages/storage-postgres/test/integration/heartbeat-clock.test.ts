/**
 * The run's lock connection stays in one chained transaction (see src/pinned.ts), where `now()`
 * is when the previous heartbeat committed. What that connection writes must be the time of the
 * write, or a session's heartbeat (and a worker's units) lag one heartbeat behind and the
 * session reads as dead after fewer missed beats than meant.
 */
import { everyUnits, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { closeStores, freshSchema, openStore, withDb } from '../helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

describe('timestamps written on the lock connection', () => {
  afterAll(closeStores);

  it('records the time of each heartbeat and of the session end, not of the beat before', async () => {
    const schema = freshSchema('hbclock');
    const store = openStore(schema);
    await store.migrate();
    const id = 'job:heartbeat-clock';
    // A worker beats every third of its lease: every 300 ms here.
    const every = 300;
    const sessionAges: number[] = [];
    const unitAges: number[] = [];
    const run = await openRun({
      id,
      store,
      strategy: everyUnits(1000),
      signals: false,
      worker: { id: 'w1', leaseMs: every * 3 },
    });
    const result = await pipeline({
      run,
      source: {
        units: () => [{ key: 'a' }],
        async *read() {
          // Unit a is leased to this worker now: its heartbeats renew the lease and the session.
          // The ages are read on a connection of their own, by the server's clock; whatever the
          // load, a heartbeat's write is at most one interval (plus its lateness) old when the
          // next one comes, and a lagging one is at least one interval old at all times.
          await withDb(async (db) => {
            await sleep(every + 50);
            for (let n = 0; n < 16; n++) {
              const row = await db.query<{ session: number; unit: number }>(
                `SELECT extract(epoch FROM clock_timestamp() - s.heartbeat_at) * 1000 AS session,
                        extract(epoch FROM clock_timestamp() - u.updated_at) * 1000 AS unit
                 FROM "${schema}".sessions s, "${schema}".units u
                 WHERE s.worker = 'w1' AND s.status = 'running' AND u.lease_owner = 'w1'`,
              );
              sessionAges.push(Number(row.rows[0]!.session));
              unitAges.push(Number(row.rows[0]!.unit));
              await sleep(83);
            }
          });
          yield { items: [1], cursor: 1 };
        },
      },
      sink: { write: () => undefined },
    });
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    const beforeEnd = await withDb(
      async (db) => (await db.query<{ at: Date }>('SELECT clock_timestamp() AS at')).rows[0]!.at,
    );
    await run.finish();
    const ended = await withDb(
      async (db) =>
        (
          await db.query<{ at: Date }>(
            `SELECT completed_at AS at FROM "${schema}".sessions WHERE worker = 'w1'`,
          )
        ).rows[0]!.at,
    );
    const ages = { every, session: sessionAges, unit: unitAges };
    // Lagging, every age is one interval or more; written with the time of the write, they
    // spread over [0, interval) and at least half of them lie below it.
    expect.soft(median(sessionAges), JSON.stringify(ages)).toBeLessThan(every);
    expect.soft(median(unitAges), JSON.stringify(ages)).toBeLessThan(every);
    // The end of the session is recorded when it ends, not at the last heartbeat before.
    expect
      .soft(ended.getTime(), `${ended.toISOString()} < ${beforeEnd.toISOString()}`)
      .toBeGreaterThanOrEqual(beforeEnd.getTime());
  });
});
