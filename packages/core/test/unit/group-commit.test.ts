/**
 * Group commit: with `always()` and many units in flight, the changes that arrive while one
 * flush is being saved go together in the next one, and every caller's promise resolves only
 * once its own change reached the store.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  always,
  type Change,
  type CheckpointStore,
  MemoryStorage,
  memoryStore,
  openRun,
} from '../../src/index.js';

const UNITS = 8;
const ROUNDS = 25;

/** A memory store whose appends take a few milliseconds (as an fdatasync does), and can fail. */
function slowStore() {
  const inner = memoryStore();
  const appends: Change[][] = [];
  let failNext = 0;
  const store: CheckpointStore = {
    ...inner,
    async append(id, changes) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (failNext > 0) {
        failNext -= 1;
        throw new Error('the disk said no');
      }
      appends.push([...changes]);
      return inner.append(id, changes);
    },
  };
  const saved = (key: string, page: number) =>
    appends.some((batch) =>
      batch.some(
        (c) =>
          c.type === 'unit.progressed' &&
          c.key === key &&
          (c.cursor as { page: number }).page === page,
      ),
    );
  return { store, appends, saved, failNext: (n: number) => (failNext = n) };
}

describe('group commit', () => {
  it('units in flight share flushes, and each promise resolves once its change is saved', async () => {
    const { store, appends, saved } = slowStore();
    const run = await openRun({ id: 'group', store, strategy: always(), signals: false });
    const keys = Array.from({ length: UNITS }, (_, i) => `u/${i}`);
    await run.plan(keys);
    const before = appends.length;
    const unsavedOnResolve: string[] = [];
    await Promise.all(
      keys.map(async (key) => {
        for (let page = 1; page <= ROUNDS; page++) {
          await run.progress(key, { cursor: { page }, items: 1 });
          if (!saved(key, page)) unsavedOnResolve.push(`${key}#${page}`);
        }
      }),
    );
    expect(unsavedOnResolve).toEqual([]);
    // One flush per round of 8 changes, not one per change (200 without group commit).
    const flushes = appends.length - before;
    expect(flushes).toBeLessThanOrEqual(ROUNDS + 2);
    expect(
      appends
        .slice(before)
        .flat()
        .filter((c) => c.type === 'unit.progressed'),
    ).toHaveLength(UNITS * ROUNDS);
    await run.close();
  });

  it('a failed flush rejects every caller that joined it, and the next flush saves their changes', async () => {
    const { store, saved, failNext } = slowStore();
    const run = await openRun({ id: 'group-fail', store, strategy: always(), signals: false });
    const keys = Array.from({ length: UNITS }, (_, i) => `u/${i}`);
    await run.plan(keys);
    // The first flush takes one change while the others wait for it: those 7 join the second,
    // which fails. Every caller of a failed flush sees the error.
    failNext(0);
    const first = run.progress(keys[0]!, { cursor: { page: 1 }, items: 1 });
    failNext(1);
    const results = await Promise.allSettled([
      first,
      ...keys.slice(1).map((key) => run.progress(key, { cursor: { page: 1 }, items: 1 })),
    ]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(String((r as PromiseRejectedResult).reason)).toContain('disk');
    // Nothing was dropped: the next flush saves every change.
    await run.flush();
    for (const key of keys) expect(saved(key, 1)).toBe(true);
    await run.close();
  });

  // A store that cannot tell whether it saved closes the run, which drops its buffer: also the
  // changes recorded while that append was under way, whose callers wait for the next flush.
  // That flush found nothing to save and resolved, telling them their changes were saved (found
  // by the seeded fault test of pipeline()).
  it('a flush queued behind one whose outcome is unknown rejects: its changes were dropped', async () => {
    const storage = new MemoryStorage();
    const inner = memoryStore(storage);
    const lost = Object.assign(new Error('connection lost during commit'), {
      outcomeUnknown: true,
    });
    let appending = false;
    const store: CheckpointStore = {
      ...inner,
      async append(id, changes) {
        if (!changes.some((c) => c.type === 'unit.progressed')) return inner.append(id, changes);
        appending = true;
        await new Promise((resolve) => setImmediate(resolve));
        throw lost;
      },
    };
    const run = await openRun({ id: 'unknown', store, strategy: always(), signals: false });
    await run.plan(['a', 'b']);
    const first = run.progress('a', { cursor: 1, items: 1 });
    while (!appending) await new Promise((resolve) => setImmediate(resolve));
    // Recorded while a's save is under way: it joins the next flush.
    const second = run.progress('b', { cursor: 1, items: 1 });
    const results = await Promise.allSettled([first, second]);
    expect(results).toEqual([
      { status: 'rejected', reason: lost },
      { status: 'rejected', reason: lost },
    ]);
    expect(run.closed).toBe(true);
    expect((await memoryStore(storage).load('unknown'))?.units['b']).toMatchObject({ done: 0 });
    // Nor does a later flush of the closed run claim to have saved anything.
    await expect(run.flush()).rejects.toBe(lost);
  });

  // docs/guarantees.md, Signals: a run "flushes, with the reason `Interrupted by SIGINT`"; and
  // `checkpointkit show` prints the last reason. A job stopped while a page's save was queued
  // recorded that page's reason instead (seen in sink-file's interrupt test).
  it("a run's last save names itself even when it joins a flush queued for a page", async () => {
    for (const [end, reason] of [
      ['SIGINT', 'Interrupted by SIGINT'],
      ['close', 'Closed'],
      ['finish', 'Finished'],
    ] as const) {
      const { store } = slowStore();
      const target = new EventEmitter();
      const exited = new Promise<number>((resolve) => {
        void openRun({
          id: end,
          store,
          strategy: always(),
          signals: { target, exit: resolve },
        }).then(async (run) => {
          await run.plan(['a']);
          // The page asks for a flush, which is queued, not started, when the run ends.
          const page = run.progress('a', { cursor: 1, items: 1 });
          if (end === 'SIGINT') target.emit('SIGINT');
          else if (end === 'close') await run.close();
          else await run.finish({ cleanup: false });
          await page;
          if (end !== 'SIGINT') resolve(0);
        });
      });
      await exited;
      const saved = await store.load(end);
      expect(saved?.units['a']?.cursor, end).toBe(1);
      expect(saved?.meta.lastSaveReason, end).toBe(reason);
    }
  });
});
