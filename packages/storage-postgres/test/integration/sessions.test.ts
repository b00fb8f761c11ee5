/**
 * Sessions of workers that died: one killed after it joined and before it claimed anything
 * leaves no lease to expire, only a session that says `running`. It must not name a holder
 * forever once its heartbeat stopped.
 */
import { always, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleChild, startChild } from '../children.js';
import { closeStores, databaseUrl, freshSchema, openStore, withDb } from '../helpers.js';

describe('sessions of dead workers', () => {
  afterAll(closeStores);

  it('a worker killed before claiming ends up failed, not running, once its heartbeat stopped', async () => {
    const schema = freshSchema('phantom');
    const store = openStore(schema);
    await store.migrate();
    const id = 'crawl:phantom';
    const victim = startChild(await bundleChild('join-child'), {
      DATABASE_URL: databaseUrl(),
      SCHEMA: schema,
      ID: id,
      WORKER: 'victim',
    });
    expect(await victim.waitForLines(1)).toBe(true);
    victim.process.kill('SIGKILL');
    await victim.exited;
    // Its heartbeat stopped long ago (by hand, instead of waiting three missed beats out).
    await withDb((db) =>
      db.query(
        `UPDATE "${schema}".sessions SET heartbeat_at = now() - interval '1 hour' WHERE worker = 'victim'`,
      ),
    );
    const before = await store.sessions(id);
    expect(before.find((s) => s.worker === 'victim')).toMatchObject({ status: 'failed' });

    const run = await openRun({
      id,
      store,
      strategy: always(),
      signals: false,
      worker: { id: 'w1', leaseMs: 5000 },
    });
    const units = Array.from({ length: 20 }, (_, i) => ({ key: `u${i}` }));
    await pipeline({
      run,
      source: {
        units: () => units,
        async *read() {
          yield { items: [1], cursor: 1 };
        },
      },
      sink: { write: () => undefined },
    });
    await run.finish();
    const sessions = await store.sessions(id);
    expect(sessions.filter((s) => s.status === 'running')).toEqual([]);
    expect(sessions.find((s) => s.worker === 'victim')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('ended without closing'),
    });
    // Recorded in the table too, by the worker that finished: not only shown so.
    const stored = await withDb((db) =>
      db.query<{ status: string }>(
        `SELECT status FROM "${schema}".sessions WHERE worker = 'victim'`,
      ),
    );
    expect(stored.rows).toEqual([{ status: 'failed' }]);
  });
});
