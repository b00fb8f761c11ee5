/**
 * A DBA acting on the rows of the store's tables under a running job, beyond the checkpoint row
 * (operators.test.ts): deleting or truncating units, deleting sessions (a retention job), and
 * deleting the checkpoint row while a worker has nothing left to claim. The run must notice what
 * it can no longer trust and stop with a typed error instead of reporting the job done; what is
 * only a record (a session row) is written again.
 *
 * On the shared test server, as a role of this file's own, whose password must never show.
 */
import { inspect } from 'node:util';
import { everyUnits, openRun, type Source } from '@checkpointkit/core';
import { expect, it } from 'vitest';
import { CheckpointDeletedError, UnitsDeletedError } from '../../src/index.js';
import { freshSchema, roleStores, withDb } from '../helpers.js';
import { pages, work } from '../operator-job.js';

const SECRET = 'Pw-81c3-rows-never-shown';
const { role: ROLE, store } = roleStores('rowsrole', SECRET);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const statusOf = async (schema: string, id: string) =>
  (
    await withDb((db) =>
      db.query<{ status: string }>(`SELECT status FROM "${schema}".checkpoints WHERE id = $1`, [
        id,
      ]),
    )
  ).rows[0]?.status;

/** Runs a DBA's statement, again when the server picks it as a deadlock's victim (40P01). */
const dba = (sql: string, params: unknown[] = []) =>
  withDb(async (db) => {
    for (;;) {
      try {
        return await db.query(sql, params);
      } catch (error) {
        if ((error as { code?: string }).code !== '40P01') throw error;
      }
    }
  });

/** Whether `error` is the store's units-deleted error for checkpoint `id` in `schema`. */
function expectUnitsDeleted(error: unknown, schema: string, id: string, doing: string): void {
  expect(error).toBeInstanceOf(UnitsDeletedError);
  expect(error).toMatchObject({ checkpointId: id, schema, storeUnavailable: true });
  expect((error as Error).message).toMatch(
    new RegExp(
      `^checkpoint "${id}": ${doing}: \\d of its 6 rows in "${schema}".units were deleted`,
    ),
  );
  expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
}

it.each([
  {
    what: "a worker's pending units deleted (never worked): its claim finds nothing left",
    worker: { id: 'w1', leaseMs: 5000 },
    sql: (schema: string) =>
      `DELETE FROM "${schema}".units WHERE checkpoint = $1 AND status = 'pending'`,
    // Claimed two by two: u4 and u5 were never claimed when the DBA deleted them.
    redone: ['u4', 'u5'],
    doing: 'claiming units',
  },
  {
    what: "an exclusive run's units table truncated: its next save meets a unit it works on gone",
    worker: undefined,
    sql: (schema: string) => `TRUNCATE "${schema}".units`,
    redone: ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'],
    doing: 'saving',
  },
  {
    what: "an exclusive run's completed units deleted: finish() finds them gone",
    worker: undefined,
    sql: (schema: string) =>
      `DELETE FROM "${schema}".units WHERE checkpoint = $1 AND status = 'complete'`,
    redone: ['u0', 'u1'],
    atFinish: true,
    doing: 'saving',
    // One at a time: u0 and u1 are complete and saved when the DBA deletes.
    concurrency: 1,
  },
])(
  '$what: the run stops with UnitsDeletedError naming the checkpoint and schema; the checkpoint is not marked completed; the next run redoes the missing units',
  async ({ worker, sql, redone, atFinish, concurrency, doing }) => {
    const schema = freshSchema('rows_units');
    const s = store(schema);
    const id = 'job:units';
    const run = await openRun({
      id,
      store: s,
      strategy: everyUnits(1),
      signals: false,
      ...(worker && { worker }),
    });
    const text = sql(schema);
    const first = await work(
      run,
      pages(() => dba(text, text.includes('$1') ? [id] : [])),
      concurrency === undefined ? {} : { concurrency },
    );
    expect(first.failed).toEqual([]);
    const stopped = atFinish
      ? await run.finish({ cleanup: false }).then(
          () => null,
          (e: unknown) => e,
        )
      : first.error;
    if (atFinish) expect(first.error).toBeNull();
    expectUnitsDeleted(stopped, schema, id, doing);
    await run.close().catch(() => {});
    expect(await statusOf(schema, id)).not.toBe('completed');

    // The next run goes on from the units that are left: it plans the missing ones again.
    const next = await openRun({
      id,
      store: s,
      signals: false,
      ...(worker && { worker: { ...worker, id: 'w2' } }),
    });
    const again = await work(
      next,
      pages(async () => {}),
    );
    expect(again).toMatchObject({ error: null, failed: [], written: redone });
    await next.finish({ cleanup: false });
    expect(await statusOf(schema, id)).toBe('completed');
  },
);

it('a session row deleted by a DBA (a retention job) under a running worker is written again by its next heartbeat; the run goes on and its session ends completed', async () => {
  const schema = freshSchema('rows_sess');
  const s = store(schema);
  const id = 'job:sessions';
  let deletedAt: Date | null = null;
  const run = await openRun({
    id,
    store: s,
    strategy: everyUnits(1),
    signals: false,
    worker: { id: 'w1', leaseMs: 300 },
  });
  const result = await work(
    run,
    pages(async () => {
      await dba(`DELETE FROM "${schema}".sessions WHERE checkpoint = $1`, [id]);
      deletedAt = (await withDb((db) => db.query<{ now: Date }>('SELECT now()'))).rows[0]!.now;
      // Until the row is back, or two heartbeats started since the delete: they run one after
      // the other, so the first one then did all it does (bounded by heartbeats, not a time).
      const beats = new Set<string>();
      for (let tries = 0; tries < 500 && beats.size < 2; tries++) {
        const back = await withDb((db) =>
          db.query(`SELECT 1 FROM "${schema}".sessions WHERE checkpoint = $1`, [id]),
        );
        if ((back.rowCount ?? 0) > 0) break;
        const seen = await withDb((db) =>
          db.query<{ at: string }>(
            `SELECT query_start::text AS at FROM pg_stat_activity WHERE usename = $1
               AND query LIKE '%SET heartbeat_at = clock_timestamp() WHERE session_id%' AND query_start > $2`,
            [ROLE, deletedAt],
          ),
        );
        for (const row of seen.rows) beats.add(row.at);
        await sleep(10);
      }
    }),
  );
  expect(result).toMatchObject({ error: null, failed: [] });
  const during = await s.sessions(id);
  expect(during).toMatchObject([{ worker: 'w1', mode: 'worker', status: 'running' }]);
  await run.finish();
  expect(await s.sessions(id)).toMatchObject([
    { sessionId: during[0]!.sessionId, worker: 'w1', status: 'completed' },
  ]);
});

it('a worker waiting with nothing left to claim, whose checkpoint row a DBA deletes, stops with CheckpointDeletedError instead of finishing as if done', async () => {
  const schema = freshSchema('rows_claim');
  const id = 'job:claim';
  const options = { id, strategy: everyUnits(1), signals: false } as const;
  // w2 claims one unit and holds it (its read waits): w1 works the others, then waits for it.
  const w2 = await openRun({
    ...options,
    store: store(schema),
    worker: { id: 'w2', leaseMs: 5000 },
  });
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let claimed = () => {};
  const holding = new Promise<void>((resolve) => {
    claimed = resolve;
  });
  const blocked: Source<number> = {
    units: () => [0, 1, 2, 3].map((i) => ({ key: `u${i}` })),
    async *read() {
      claimed();
      await held;
      yield { items: [0], cursor: 1 };
    },
  };
  const second = work(w2, blocked, { claimBatch: 1 });
  await holding;

  const w1 = await openRun({
    ...options,
    store: store(schema),
    worker: { id: 'w1', leaseMs: 5000 },
  });
  const first = work(
    w1,
    pages(async () => {}, [0, 1, 2, 3]),
    { claimBatch: 1 },
  );
  // Once w1 saved the three units it could get, it only waits for w2's.
  for (let tries = 0; tries < 500; tries++) {
    const done = await withDb((db) =>
      db.query(`SELECT 1 FROM "${schema}".units WHERE checkpoint = $1 AND status = 'complete'`, [
        id,
      ]),
    );
    if (done.rowCount === 3) break;
    await sleep(20);
  }
  await dba(`DELETE FROM "${schema}".checkpoints WHERE id = $1`, [id]);
  const { error, failed } = await first;
  expect(failed).toEqual([]);
  expect(error).toBeInstanceOf(CheckpointDeletedError);
  expect((error as Error).message).toContain(
    `checkpoint "${id}": claiming units: its row in "${schema}".checkpoints was deleted`,
  );
  expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  await expect(w1.finish()).rejects.toBeInstanceOf(CheckpointDeletedError);
  release();
  expect((await second).error).toBeInstanceOf(CheckpointDeletedError);
  await w2.close().catch(() => {});
});
