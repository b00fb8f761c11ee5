/**
 * The conformance suite every {@link CheckpointStore} runs: one call registers vitest tests for
 * every point of the contract.
 *
 * ```ts
 * import { describeStoreConformance } from '@checkpointkit/core/testing';
 * describeStoreConformance({ name: 'my store', open: () => myStore(), reopen: (s) => myStore() });
 * ```
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointLockedError, CheckpointValueError } from '../errors.js';
import type { Change } from '../model/changes.js';
import { replay } from '../model/reducer.js';
import { summarize } from '../model/summary.js';
import { openRun } from '../run/open-run.js';
import type { CheckpointStore } from '../store/contract.js';
import { always, everyUnits } from '../strategies/index.js';
import { changeLog, ODD_IDS } from './fixtures.js';

export { changeLog, ODD_IDS } from './fixtures.js';
export { errorTexts, type PastedToken, pastedTokens, thrownBy } from './secrets.js';
export {
  type Expected,
  GENERATORS,
  prng,
  seed000File,
  seed002V1File,
  seed002V2File,
  seed003File,
  type WildFile,
} from './seed-files.js';

export interface ConformanceOptions {
  /** Names the describe block. */
  name: string;
  /** A store over fresh, empty storage. Called once per test. */
  open: () => CheckpointStore | Promise<CheckpointStore>;
  /**
   * A second, independent store over the same storage as `store`, as another process (or the
   * same process after a restart) would open it.
   */
  reopen: (store: CheckpointStore) => CheckpointStore | Promise<CheckpointStore>;
  /** Removes the storage behind a store made by `open` (after its stores are closed). */
  destroy?: (store: CheckpointStore) => void | Promise<void>;
  /** Units in the large-checkpoint test. Default 100,000. */
  largeUnits?: number;
}

export function describeStoreConformance(options: ConformanceOptions): void {
  const largeUnits = options.largeUnits ?? 100_000;

  describe(`${options.name}: CheckpointStore conformance`, () => {
    const opened: CheckpointStore[] = [];
    const first: CheckpointStore[] = [];

    async function fresh(): Promise<CheckpointStore> {
      const store = await options.open();
      opened.push(store);
      first.push(store);
      return store;
    }
    async function again(store: CheckpointStore): Promise<CheckpointStore> {
      const other = await options.reopen(store);
      opened.push(other);
      return other;
    }

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close?.();
      for (const store of first.splice(0)) await options.destroy?.(store);
    });

    it('loads null for a checkpoint that does not exist', async () => {
      const store = await fresh();
      expect(await store.load('nothing-here')).toBeNull();
      expect(await store.delete('nothing-here')).toBe(false);
    });

    it('gives back exactly what the reducer computes from the acknowledged changes', async () => {
      const store = await fresh();
      const log = changeLog('job:reducer');
      await store.append('job:reducer', log.slice(0, 5));
      await store.append('job:reducer', log.slice(5));
      const loaded = await store.load('job:reducer');
      expect(loaded).toEqual(replay(null, log));
      // A failure's structured cause round-trips whole (toEqual alone would pass a dropped one
      // only if the reducer dropped it too).
      expect(loaded?.units['collect/acme/web/pulls']?.error?.cause).toEqual({
        status: 451,
        errcode: 'dmca',
        url: 'https://api.github.com/repos/acme/wéb b/pulls',
      });
    });

    it('keeps what was acknowledged across a reopen, and after a compaction', async () => {
      const store = await fresh();
      const log = changeLog('job:reopen');
      await store.append('job:reopen', log.slice(0, 7));
      await store.compact('job:reopen');
      await store.append('job:reopen', log.slice(7));
      const expected = replay(null, log);
      expect(await store.load('job:reopen')).toEqual(expected);
      const other = await again(store);
      expect(await other.load('job:reopen')).toEqual(expected);
      await other.compact('job:reopen');
      expect(await (await again(store)).load('job:reopen')).toEqual(expected);
    });

    it('refuses a log that does not start with "created"', async () => {
      const store = await fresh();
      await expect(
        store.append('job:headless', [{ type: 'counter.added', name: 'x', by: 1 }]),
      ).rejects.toThrow();
      expect(await store.load('job:headless')).toBeNull();
    });

    it('starts over when a log holds a second "created" (a reset)', async () => {
      const store = await fresh();
      const log = changeLog('job:reset');
      const restart: Change = {
        type: 'created',
        at: '2026-02-01T00:00:00.000Z',
        id: 'job:reset',
        configDigest: 'b'.repeat(64),
      };
      await store.append('job:reset', log);
      await store.append('job:reset', [
        restart,
        { type: 'unit.planned', at: restart.at, key: 'only/one' },
      ]);
      const loaded = await (await again(store)).load('job:reset');
      expect(loaded).toEqual(
        replay(null, [...log, restart, { type: 'unit.planned', at: restart.at, key: 'only/one' }]),
      );
      expect(Object.keys(loaded!.units)).toEqual(['only/one']);
    });

    it('grants one lock at a time and names the owner to the second', async () => {
      const store = await fresh();
      const other = await again(store);
      const lock = await store.lock('job:locked');
      expect(lock.owner.pid).toBeTypeOf('number');
      expect(lock.owner.host).toBeTruthy();
      expect(Number.isNaN(Date.parse(lock.owner.since))).toBe(false);
      for (const contender of [store, other]) {
        const refused = await contender.lock('job:locked').then(
          () => null,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(CheckpointLockedError);
        expect((refused as CheckpointLockedError).owner).toMatchObject({
          pid: lock.owner.pid,
          host: lock.owner.host,
        });
        expect((refused as Error).message).toContain(String(lock.owner.pid));
      }
      await lock.release();
      const second = await other.lock('job:locked');
      await second.release();
    });

    it('lists checkpoints with their summaries and deletes them', async () => {
      const store = await fresh();
      await store.append('job:a', changeLog('job:a'));
      await store.append('job:b', changeLog('job:b').slice(0, 3));
      const listed = (await store.list()).sort((x, y) => x.id.localeCompare(y.id));
      expect(listed.map((l) => l.id)).toEqual(['job:a', 'job:b']);
      expect(listed[0]!.summary.counts).toEqual({
        pending: 1,
        in_progress: 1,
        complete: 1,
        failed: 1,
      });
      expect(await store.delete('job:a')).toBe(true);
      expect(await store.load('job:a')).toBeNull();
      expect((await (await again(store)).list()).map((l) => l.id)).toEqual(['job:b']);
    });

    it('lists a checkpoint with no units as 0% until its run completes, then 100%', async () => {
      const store = await fresh();
      const at = '2026-01-01T00:00:00.000Z';
      const created = (id: string): Change => ({
        type: 'created',
        at,
        id,
        configDigest: 'a'.repeat(64),
      });
      await store.append('job:empty-running', [created('job:empty-running')]);
      await store.append('job:empty-failed', [
        created('job:empty-failed'),
        { type: 'status', at, status: 'failed' },
      ]);
      await store.append('job:empty-done', [
        created('job:empty-done'),
        { type: 'status', at, status: 'completed' },
      ]);
      // One unit of zero items: measured in units (nothing to divide), so 0% while it is pending.
      await store.append('job:zero-items', [
        created('job:zero-items'),
        { type: 'unit.planned', at, key: 'collect/empty', total: 0 },
      ]);
      const percent = new Map(
        (await (await again(store)).list()).map((l) => [l.id, l.summary.percent]),
      );
      expect(Object.fromEntries(percent)).toEqual({
        'job:empty-running': 0,
        'job:empty-failed': 0,
        'job:empty-done': 100,
        'job:zero-items': 0,
      });
      for (const id of percent.keys())
        expect(summarize((await store.load(id))!).percent).toBe(percent.get(id));
    });

    it('stores ids verbatim, however odd', async () => {
      const store = await fresh();
      for (const id of ODD_IDS) await store.append(id, changeLog(id).slice(0, 2));
      const other = await again(store);
      expect((await other.list()).map((l) => l.id).sort()).toEqual([...ODD_IDS].sort());
      for (const id of ODD_IDS) expect((await other.load(id))?.id).toBe(id);
    });

    it('keeps the first target of a mapped id and reports a conflicting one', async () => {
      const store = await fresh();
      const conflicts: string[] = [];
      const run = await openRun({
        id: 'job:ids',
        store,
        strategy: always(),
        signals: false,
        onIdConflict: (c) => conflicts.push(c.message),
      });
      expect((await run.mapId('matrix-event', '$a:hs', 456)).ok).toBe(true);
      expect((await run.mapId('matrix-event', '$a:hs', 456)).ok).toBe(true);
      const result = await run.mapId('matrix-event', '$a:hs', 789);
      expect(result.ok).toBe(false);
      expect(conflicts).toHaveLength(1);
      await run.close();
      const loaded = await (await again(store)).load('job:ids');
      expect(loaded?.idMaps['matrix-event']).toEqual({ '$a:hs': 456 });
      expect(loaded?.stats['idMapConflicts']).toBe(1);
      // A conflicting change that reaches the log anyway loses to the first mapping.
      await store.append('job:ids', [
        { type: 'id.mapped', map: 'matrix-event', source: '$a:hs', target: 1 },
      ]);
      expect((await store.load('job:ids'))?.idMaps['matrix-event']).toEqual({ '$a:hs': 456 });
    });

    it('refuses a value it could not hold at the call, and goes on saving everything else', async () => {
      const store = await fresh();
      const run = await openRun({ id: 'job:values', store, strategy: always(), signals: false });
      await run.plan(['a', 'b']);
      // Each would reach the store's next flush and fail it (and every flush after it), or come
      // back changed on resume (NaN as null).
      const refused: [string, () => Promise<unknown>][] = [
        ['a NaN cursor', () => run.progress('a', { cursor: Number.NaN, items: 1 })],
        ['NaN items', () => run.progress('a', { cursor: 1, items: Number.NaN })],
        ['an infinite total', () => run.progress('a', { cursor: 1, total: Infinity })],
        ['a NaN total', () => run.plan([{ key: 'c', total: Number.NaN }])],
        ['a negative total', () => run.plan([{ key: 'c', total: -1 }])],
        ['an empty key', () => run.plan([''])],
        ['a Date in meta', () => run.setMeta('since', new Date(0) as never)],
        ['an empty meta key', () => run.setMeta('', 1)],
        ['a NaN count', () => run.count('pages', Number.NaN)],
        ['an object as a mapped id', () => run.mapId('users', 'alice', { id: 1 } as never)],
        ['a bigint cursor', () => run.complete('a', { cursor: 1n as never })],
      ];
      for (const [name, call] of refused)
        expect(
          await call().then(
            () => 'accepted',
            (error: unknown) => error,
          ),
          name,
        ).toBeInstanceOf(CheckpointValueError);
      await run.progress('b', { cursor: { page: 2 }, items: 3 });
      await run.count('pages');
      await run.flush();
      const stored = await (await again(store)).load('job:values');
      expect(Object.keys(stored?.units ?? {}).sort()).toEqual(['a', 'b']);
      expect(stored?.units['a']).toMatchObject({ status: 'pending', cursor: null, done: 0 });
      expect(stored?.units['b']).toMatchObject({ cursor: { page: 2 }, done: 3 });
      expect(stored?.stats).toEqual({ pages: 1 });
      expect(stored?.meta.user).toEqual({});
      expect(stored?.idMaps).toEqual({});
      await run.close();
    });

    it('resumes a run after a crash with every acknowledged change and nothing else', async () => {
      const store = await fresh();
      const run = await openRun({
        id: 'job:crash',
        store,
        strategy: everyUnits(2),
        signals: false,
      });
      await run.plan(['p/1', 'p/2', 'p/3', 'p/4']);
      await run.start('p/1');
      await run.complete('p/1');
      await run.start('p/2');
      await run.complete('p/2'); // second unit: flushed here
      await run.start('p/3');
      await run.complete('p/3'); // not flushed
      await run.abandon();
      const resumed = await openRun({
        id: 'job:crash',
        store: await again(store),
        strategy: always(),
        signals: false,
      });
      expect(resumed.resumed).toBe(true);
      expect(resumed.pending()).toEqual(['p/3', 'p/4']);
      await resumed.close();
    });

    it(`holds a checkpoint of ${largeUnits.toLocaleString('en')} units`, async () => {
      const store = await fresh();
      const id = 'job:large';
      const at = '2026-01-01T00:00:00.000Z';
      await store.append(id, [{ type: 'created', at, id, configDigest: null }]);
      const batch = 10_000;
      for (let start = 0; start < largeUnits; start += batch) {
        const changes: Change[] = [];
        for (let i = start; i < Math.min(start + batch, largeUnits); i++) {
          const key = `phase/${i % 100}/unit-${i}`;
          changes.push({ type: 'unit.planned', at, key, total: 10 });
          if (i % 3 === 0) changes.push({ type: 'unit.completed', at, key, done: 10 });
          if (i % 2 === 0)
            changes.push({ type: 'id.mapped', map: 'rows', source: `s${i}`, target: i });
        }
        await store.append(id, changes);
      }
      await store.compact(id);
      await store.append(id, [
        { type: 'unit.failed', at, key: 'phase/1/unit-1', message: 'boom', retryable: true },
      ]);
      const loaded = await (await again(store)).load(id);
      expect(Object.keys(loaded!.units)).toHaveLength(largeUnits);
      expect(Object.keys(loaded!.idMaps['rows']!)).toHaveLength(Math.ceil(largeUnits / 2));
      expect(loaded!.units['phase/1/unit-1']?.status).toBe('failed');
      expect(loaded!.units[`phase/${(largeUnits - 1) % 100}/unit-${largeUnits - 1}`]).toBeDefined();
      const complete = Object.values(loaded!.units).filter((u) => u.status === 'complete').length;
      expect(complete).toBe(Math.ceil(largeUnits / 3));
    }, 120_000);
  });
}
