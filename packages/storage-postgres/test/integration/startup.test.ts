/**
 * Workers that start together on a fresh checkpoint: each plans the same units and claims from
 * them while the others' plans and claims hold row locks. A worker may end only when no unit is
 * claimable and none is leased elsewhere; one that ends early leaves the job to the others.
 */
import { everyUnits, openRun, pipeline, type Source } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { closeStores, freshSchema, openStore, withDb } from '../helpers.js';

const ROUNDS = 8;
const WORKERS = 4;
const UNITS = 2000;

const source: Source<number> = {
  units: () =>
    Array.from({ length: UNITS }, (_, i) => ({ key: `unit/${String(i).padStart(5, '0')}` })),
  async *read() {
    yield { items: [1], cursor: 1 };
  },
};

/** Units no live worker holds and that are not done: what a worker that ends must have left none of. */
async function claimable(schema: string, id: string): Promise<number> {
  return withDb(async (db) => {
    const result = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".units
         WHERE checkpoint = $1 AND status IN ('pending', 'in_progress')
           AND (lease_owner IS NULL OR lease_expires_at <= now())`,
      [id],
    );
    return result.rows[0]!.n;
  });
}

describe('workers starting together on a fresh checkpoint', () => {
  afterAll(closeStores);

  it(`none ends while units are claimable (${ROUNDS} rounds of ${WORKERS} workers, ${UNITS} units)`, async () => {
    const schema = freshSchema('startup');
    await openStore(schema).migrate();
    const early: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const id = `startup:${round}`;
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, n) => {
          const run = await openRun({
            id,
            store: openStore(schema, { migrate: false }),
            strategy: everyUnits(50),
            signals: false,
            worker: { id: `w${n}`, leaseMs: 30_000 },
          });
          const result = await pipeline({
            run,
            source,
            sink: { write: () => undefined },
            concurrency: 4,
          });
          const left = await claimable(schema, id);
          if (left > 0)
            early.push(
              `round ${round}: w${n} ended after ${result.completed} units with ${left} claimable`,
            );
          await run.finish();
        }),
      );
    }
    expect(early).toEqual([]);
  });
});
