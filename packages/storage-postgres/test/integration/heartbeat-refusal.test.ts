/**
 * A run's heartbeat (the session row, a worker's leases) refused by the server for good: a DBA
 * revoked a privilege on the table it updates. The run must stop with that refusal at its next
 * page, as it does when a flush is refused, not go on working units whose leases it can no
 * longer renew (other workers take them over once they expire) until its next save.
 *
 * On the shared test server, as a role of this file's own (a superuser passes every privilege
 * check), whose password must never show in an error.
 */
import { inspect } from 'node:util';
import { everyUnits, openRun, pipeline, type Sink, type Source } from '@checkpointkit/core';
import { expect, it } from 'vitest';
import { DatabaseRefusedError } from '../../src/index.js';
import { freshSchema, roleStores, withDb } from '../helpers.js';

const SECRET = 'Pw-5d2b-heartbeat-never-shown';
const { role: ROLE, store } = roleStores('hbrole', SECRET);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once a connection of the role ran the session heartbeat after `since` and is idle
 * again: the heartbeat met what the DBA did. Gives up after 5 s (the run goes on; the test's
 * assertions then say what it did).
 */
async function heartbeatRanSince(since: Date): Promise<void> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(20)) {
    const seen = await withDb((db) =>
      db.query(
        `SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND state = 'idle'
           AND query LIKE '%SET heartbeat_at = clock_timestamp() WHERE session_id%' AND query_start > $2`,
        [ROLE, since],
      ),
    );
    if ((seen.rowCount ?? 0) > 0) return;
  }
}

it('a worker whose heartbeat is refused (UPDATE on sessions revoked) stops at its next page with that DatabaseRefusedError, before its next save; the next run goes on', async () => {
  const schema = freshSchema('hb');
  const s = store(schema);
  await s.migrate();
  const id = 'job:heartbeat';
  const written: string[] = [];
  let revoked = false;
  const source: Source<number> = {
    units: () => ['a', 'b', 'c'].map((key) => ({ key })),
    async *read({ key, cursor }) {
      for (let page = (cursor as number | null) ?? 0; page < 3; page++) {
        if (key === 'a' && page === 1 && !revoked) {
          revoked = true;
          await withDb((db) => db.query(`REVOKE UPDATE ON "${schema}".sessions FROM ${ROLE}`));
          // Taken after the REVOKE committed: a heartbeat already running then (it passed its
          // privilege check before) must not count. One did in a CI run, and the run read on.
          const since = (await withDb((db) => db.query<{ now: Date }>('SELECT now()'))).rows[0]!
            .now;
          await heartbeatRanSince(since);
        }
        yield { items: [page], cursor: page + 1 };
      }
    },
  };
  const sink: Sink<number> = {
    async write(items, { unit }) {
      written.push(`${unit}:${items[0]}`);
    },
  };
  // Saves only at the end, one claim for all three units: nothing but the heartbeat meets the
  // revoke before the run stops.
  const run = await openRun({
    id,
    store: s,
    strategy: everyUnits(1000),
    signals: false,
    worker: { id: 'w1', leaseMs: 300 },
  });
  const failed: string[] = [];
  const error = await pipeline({
    run,
    source,
    sink,
    claimBatch: 3,
    onProgress: (event) => {
      if (event.type === 'unit-failed') failed.push(event.key);
    },
  }).then(
    () => null,
    (e: unknown) => e,
  );
  // The page in flight reached the sink; no later page was read.
  expect(written).toEqual(['a:0', 'a:1']);
  expect(error).toBeInstanceOf(DatabaseRefusedError);
  expect((error as DatabaseRefusedError).sqlstate).toBe('42501');
  expect((error as Error).message).toMatch(
    new RegExp(
      `heartbeat .*in schema "${schema}": the server refused it: permission denied for table sessions`,
    ),
  );
  expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  expect(failed).toEqual([]);
  const closing = await run.close().then(
    () => null,
    (e: unknown) => e,
  );
  expect(closing).toBe(error);

  await withDb((db) => db.query(`GRANT UPDATE ON "${schema}".sessions TO ${ROLE}`));
  const next = await openRun({
    id,
    store: store(schema),
    signals: false,
    worker: { id: 'w2', leaseMs: 300 },
  });
  const result = await pipeline({ run: next, source, sink });
  expect(result.summary.counts).toMatchObject({ complete: 3, failed: 0 });
  await next.finish();
});
