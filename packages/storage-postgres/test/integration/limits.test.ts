/**
 * Values too big for the store's indexes (ids, keys, source ids) or its rows (cursors): refused
 * with a typed error naming the value and the limit, where the job records them; nothing else
 * in the run is lost, and the flushes after it go through.
 */
import { randomBytes } from 'node:crypto';
import { always, everyUnits, openRun } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { LIMITS, PostgresLimitError } from '../../src/index.js';
import { closeStores, freshSchema, openStore } from '../helpers.js';

const huge = (bytes: number) => randomBytes(bytes).toString('base64url').slice(0, bytes);

describe('values over the store limits', () => {
  afterAll(closeStores);

  it('refuses an id over the limit when the run opens, with PostgresLimitError, not an index error', async () => {
    const store = openStore(freshSchema('limits'));
    const error = await openRun({ id: huge(2700), store, signals: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresLimitError);
    expect((error as PostgresLimitError).message).toMatch(
      new RegExp(
        `checkpoint id ".{40}…" is 2700 bytes as stored, over the limit of ${LIMITS.id} bytes`,
      ),
    );
  });

  it('refuses one oversize key in a plan without recording any of it, and the run goes on and saves the rest', async () => {
    const store = openStore(freshSchema('limits'));
    const run = await openRun({ id: 'job:limits', store, strategy: everyUnits(2), signals: false });
    const good = ['a', 'b', 'c'];
    const planning = run.plan([...good, huge(2700)]);
    await expect(planning).rejects.toBeInstanceOf(PostgresLimitError);
    await expect(planning).rejects.toThrow(`over the limit of ${LIMITS.key} bytes`);
    expect(Object.keys(run.checkpoint.units)).toEqual([]);
    await run.plan(good);
    // A cursor, and a source id of a page's mappings: refused with the page, which is not recorded.
    await expect(run.progress('a', { cursor: huge(LIMITS.cursor + 10), items: 1 })).rejects.toThrow(
      /cursor of unit "a" .* over the limit/,
    );
    await expect(
      run.progress('a', {
        cursor: 1,
        items: 1,
        idMappings: [{ map: 'm', source: huge(900), target: 1 }],
      }),
    ).rejects.toThrow(/source id in map "m" .* over the limit/);
    expect(run.unit('a')).toMatchObject({ cursor: null, done: 0 });
    expect(run.lookupId('m', 'x')).toBeUndefined();
    for (const key of good) await run.complete(key, { items: 1 });
    await run.close();
    const again = await openRun({ id: 'job:limits', store, strategy: always(), signals: false });
    expect(Object.keys(again.checkpoint.units).sort()).toEqual(good);
    expect(again.summary().counts.complete).toBe(3);
    await again.close();
  });
});
