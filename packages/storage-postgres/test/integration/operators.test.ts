/**
 * What operators do to the database under a running job that the fault suites do not: a DBA
 * deletes the job's checkpoint row ("clean up that stuck job") while it runs, and an
 * administrator disables the job's role (a credential rotation) while it runs. The job stops
 * with a typed error that names the cause and stops every unit, instead of failing units one by
 * one or reporting a lost lock; the connection's password never shows.
 *
 * On the shared test server, as a role of this file's own (so that it can be disabled).
 */
import { inspect } from 'node:util';
import { everyUnits, openRun } from '@checkpointkit/core';
import { expect, it } from 'vitest';
import { CheckpointDeletedError, DatabaseRefusedError } from '../../src/index.js';
import { freshSchema, roleStores, withDb } from '../helpers.js';
import { pages, work } from '../operator-job.js';

const SECRET = 'Pw-2e7f-operators-never-shown';
const { role: ROLE, store } = roleStores('oprole', SECRET);

it.each([
  { mode: 'an exclusive run', worker: undefined },
  { mode: 'a worker', worker: { id: 'w1', leaseMs: 5000 } },
])(
  "a DBA's DELETE of the checkpoint row under $mode stops it with CheckpointDeletedError naming the table; no unit failed; the next run starts over",
  async ({ worker }) => {
    const schema = freshSchema('op_del');
    const s = store(schema);
    const id = 'job:deleted';
    const run = await openRun({
      id,
      store: s,
      strategy: everyUnits(1),
      signals: false,
      ...(worker && { worker }),
    });
    const { error, failed } = await work(
      run,
      pages(() =>
        withDb(async (db) => {
          // The cascade to the units meets a flush's row locks: when the server picks the
          // DELETE as the deadlock's victim (40P01), the DBA runs it again.
          for (;;) {
            try {
              return await db.query(`DELETE FROM "${schema}".checkpoints WHERE id = $1`, [id]);
            } catch (error) {
              if ((error as { code?: string }).code !== '40P01') throw error;
            }
          }
        }),
      ),
    );
    expect(error).toBeInstanceOf(CheckpointDeletedError);
    expect((error as Error).message).toContain(
      `checkpoint "${id}": saving: its row in "${schema}".checkpoints was deleted while this run held it`,
    );
    expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
    expect(failed).toEqual([]);
    expect(run.summary().counts.failed).toBe(0);
    await expect(run.close()).rejects.toBeInstanceOf(CheckpointDeletedError);

    // The rows went with it (ON DELETE CASCADE): the next run starts the job over.
    const next = await openRun({
      id,
      store: s,
      signals: false,
      ...(worker && { worker: { ...worker, id: 'w2' } }),
    });
    expect(next.summary().counts.complete).toBe(0);
    const again = await work(
      next,
      pages(async () => {}),
    );
    expect(again).toMatchObject({ error: null, failed: [] });
    expect(next.summary().counts.complete).toBe(6);
    await next.close();
  },
);

it("the job's role disabled mid-run (NOLOGIN) and its connections ended: the run stops with DatabaseRefusedError naming it, no unit failed, no lost lock", async () => {
  const schema = freshSchema('op_nologin');
  const s = store(schema);
  const id = 'job:nologin';
  const run = await openRun({
    id,
    store: s,
    strategy: everyUnits(1),
    signals: false,
    worker: { id: 'w1', leaseMs: 5000 },
  });
  const { error, failed } = await work(
    run,
    pages(async () => {
      await withDb(async (db) => {
        await db.query(`ALTER ROLE ${ROLE} NOLOGIN`);
        // As a rotation does, so that the pool has to connect again.
        await db.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1',
          [ROLE],
        );
      });
    }),
  );
  try {
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect((error as DatabaseRefusedError).sqlstate).toBe('28000');
    expect((error as Error).message).toMatch(/role ".*" is not permitted to log in/);
    expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
    expect(failed).toEqual([]);
  } finally {
    await withDb((db) => db.query(`ALTER ROLE ${ROLE} LOGIN`));
  }
  await run.close().catch(() => {});
  // Once the role may log in again, the job goes on.
  const next = await openRun({
    id,
    store: s,
    signals: false,
    worker: { id: 'w2', leaseMs: 5000 },
  });
  expect(
    await work(
      next,
      pages(async () => {}),
    ),
  ).toMatchObject({ error: null, failed: [] });
  await next.finish();
});
