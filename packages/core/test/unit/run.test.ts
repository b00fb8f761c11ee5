import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  always,
  type Change,
  CheckpointLockedError,
  type CheckpointStore,
  ConfigMismatchError,
  everyUnits,
  memoryStore,
  openRun,
  RunClosedError,
} from '../../src/index.js';

const quiet = { signals: false } as const;

/** A store that records what reached it, and can be told to fail the next appends. */
function recordingStore() {
  const inner = memoryStore();
  const appended: Change[][] = [];
  let failures = 0;
  const store: CheckpointStore = {
    ...inner,
    async append(id, changes) {
      if (failures > 0) {
        failures -= 1;
        throw new Error('disk full');
      }
      appended.push([...changes]);
      return inner.append(id, changes);
    },
  };
  return {
    store,
    inner,
    appended,
    failNext: (n = 1) => {
      failures = n;
    },
  };
}

describe('openRun', () => {
  afterEach(() => {
    delete process.env['CHECKPOINT_AUTO_CLEANUP'];
  });

  it('creates a checkpoint, then resumes it with only the work left', async () => {
    const store = memoryStore();
    const run = await openRun({ id: 'job', store, strategy: always(), ...quiet });
    expect(run.resumed).toBe(false);
    await run.plan(['a', 'b', { key: 'c', total: 5 }]);
    await run.start('a');
    await run.complete('a', { items: 3 });
    await run.close();

    const again = await openRun({ id: 'job', store, ...quiet });
    expect(again.resumed).toBe(true);
    expect(again.checkpoint.status).toBe('running');
    expect(again.pending()).toEqual(['b', 'c']);
    expect(again.unit('a')).toMatchObject({ status: 'complete', done: 3, attempts: 1 });
    expect(again.unit('c')?.total).toBe(5);
    await again.close();
  });

  it('refuses a second opener and names the owner', async () => {
    const store = memoryStore();
    const run = await openRun({ id: 'job', store, ...quiet });
    const error = await openRun({ id: 'job', store, ...quiet }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointLockedError);
    expect((error as Error).message).toMatch(new RegExp(`pid ${process.pid} on memory since`));
    await run.close();
    await (await openRun({ id: 'job', store, ...quiet })).close();
  });

  it('checks the config digest: error by default, reset or keep on request', async () => {
    const store = memoryStore();
    const first = await openRun({
      id: 'job',
      store,
      config: { org: 'acme', years: [2025] },
      ...quiet,
    });
    await first.plan(['a']);
    await first.close();
    // Same config, keys in another order: same digest.
    await (
      await openRun({ id: 'job', store, config: { years: [2025], org: 'acme' }, ...quiet })
    ).close();

    const error = await openRun({ id: 'job', store, config: { org: 'other' }, ...quiet }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigMismatchError);
    expect((error as Error).message).toMatch(/onConfigChange/);
    // The refused opener released the lock.
    const kept = await openRun({
      id: 'job',
      store,
      config: { org: 'other' },
      onConfigChange: 'keep',
      ...quiet,
    });
    expect(kept.resumed).toBe(true);
    expect(Object.keys(kept.checkpoint.units)).toEqual(['a']);
    await kept.close();
    // "keep" recorded the new digest: no complaint next time.
    await (await openRun({ id: 'job', store, config: { org: 'other' }, ...quiet })).close();

    const reset = await openRun({
      id: 'job',
      store,
      config: { org: 'third' },
      onConfigChange: 'reset',
      ...quiet,
    });
    expect(reset.resumed).toBe(false);
    expect(reset.checkpoint.units).toEqual({});
    await reset.close();
    expect(Object.keys((await store.load('job'))!.units)).toEqual([]);
  });

  it('says that a checkpoint made without a config has none recorded, when a job passes one', async () => {
    const store = memoryStore();
    // Made without a config (as a migrated seed file is): no digest recorded.
    await (await openRun({ id: 'job', store, ...quiet })).close();
    const error = await openRun({ id: 'job', store, config: { org: 'acme' }, ...quiet }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigMismatchError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^checkpoint "job" has no recorded config \(it was made without one\), and this job passes one \(digest [0-9a-f]{12}\); pass onConfigChange: "keep" to record it and continue, or "reset" to start over$/,
    );
    expect(message).not.toContain('none');
  });

  it('buffers changes until the strategy says save, and records its reason', async () => {
    const { store, inner, appended } = recordingStore();
    const run = await openRun({ id: 'job', store, strategy: everyUnits(2), ...quiet });
    const before = appended.length;
    await run.plan(['a', 'b', 'c']);
    await run.complete('a');
    expect(appended.length).toBe(before);
    expect(run.unsaved).toBeGreaterThan(0);
    await run.complete('b');
    expect(appended.length).toBe(before + 1);
    expect(run.unsaved).toBe(0);
    const saved = await inner.load('job');
    expect(saved?.meta.lastSaveReason).toBe('Progress: 2 units done (every 2)');
    expect(saved?.meta.saveCount).toBe(1);
    await run.close();
  });

  it('keeps changes a failed flush did not get acknowledged, and saves them on the next one', async () => {
    const { store, inner, failNext } = recordingStore();
    const run = await openRun({ id: 'job', store, strategy: everyUnits(100), ...quiet });
    await run.plan(['a', 'b']);
    await run.complete('a');
    failNext();
    await expect(run.flush('try')).rejects.toThrow('disk full');
    expect((await inner.load('job'))?.units['a']).toBeUndefined();
    await run.complete('b');
    await run.flush('again');
    const saved = await inner.load('job');
    expect(saved?.units['a']?.status).toBe('complete');
    expect(saved?.units['b']?.status).toBe('complete');
    expect(saved?.meta.lastSaveReason).toBe('again');
    await run.close();
  });

  it('lists pending units with retryFailed, from and prefix', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), strategy: always(), ...quiet });
    await run.plan(['r/a/pulls', 'r/a/issues', 'r/b/pulls', 'r/b/issues', 'r/c/pulls']);
    await run.complete('r/a/pulls');
    await run.fail('r/a/issues', new Error('403 forbidden'), { retryable: false });
    await run.fail('r/b/pulls', new Error('502'), { retryable: true });
    await run.start('r/b/issues');
    expect(run.pending()).toEqual(['r/b/issues', 'r/c/pulls']);
    expect(run.pending({ retryFailed: 'retryable' })).toEqual([
      'r/b/pulls',
      'r/b/issues',
      'r/c/pulls',
    ]);
    expect(run.pending({ retryFailed: true })).toEqual([
      'r/a/issues',
      'r/b/pulls',
      'r/b/issues',
      'r/c/pulls',
    ]);
    expect(run.pending({ from: 'r/b/issues' })).toEqual(['r/b/issues', 'r/c/pulls']);
    expect(run.pending({ prefix: 'r/b', retryFailed: true })).toEqual(['r/b/pulls', 'r/b/issues']);
    expect(() => run.pending({ from: 'nope' })).toThrow(/no unit "nope"/);
    expect(run.unit('r/a/issues')?.error).toMatchObject({
      message: '403 forbidden',
      retryable: false,
    });
    await run.close();
  });

  it('a flush after a close whose last save failed writes nothing without the lock: it rejects, and the next run redoes the work', async () => {
    const { store, inner, appended, failNext } = recordingStore();
    const run = await openRun({ id: 'job', store, strategy: everyUnits(100), ...quiet });
    await run.complete('a');
    failNext();
    await expect(run.close()).rejects.toThrow('disk full');
    // Another process takes the checkpoint over once the lock is free.
    const next = await openRun({ id: 'job', store, ...quiet });
    const before = appended.length;
    await expect(run.flush()).rejects.toBeInstanceOf(RunClosedError);
    await expect(run.flush()).rejects.toThrow(
      /2 changes its last save could not write are not saved/,
    );
    expect(appended.length).toBe(before);
    expect((await inner.load('job'))?.units['a']).toBeUndefined();
    await next.close();
    // Nothing left unsaved: a flush after close has nothing to do, and says it did it.
    await expect(next.flush()).resolves.toBeUndefined();
  });

  it('counts attempts, keeps counters and meta, and resets units', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), strategy: always(), ...quiet });
    await run.start('u');
    await run.progress('u', { cursor: { page: 2 }, items: 100, total: 250 });
    await run.fail('u', new Error('boom'));
    await run.start('u');
    await run.progress('u', { cursor: { page: 3 }, items: 100 });
    expect(run.unit('u')).toMatchObject({
      attempts: 2,
      done: 200,
      total: 250,
      cursor: { page: 3 },
      status: 'in_progress',
      error: null,
    });
    await run.reset('u', { keepCursor: false });
    expect(run.unit('u')).toMatchObject({ status: 'pending', done: 0, cursor: null });
    await run.count('requests', 3);
    await run.count('requests');
    await run.setMeta('org', 'acme');
    expect(run.summary().stats).toEqual({ requests: 4 });
    expect(run.checkpoint.meta.user).toEqual({ org: 'acme' });
    await run.close();
  });

  it('finish deletes the checkpoint only when nothing failed (and cleanup is on)', async () => {
    const store = memoryStore();
    const clean = await openRun({ id: 'clean', store, ...quiet });
    await clean.complete('a');
    expect((await clean.finish()).deleted).toBe(true);
    expect(await store.load('clean')).toBeNull();

    const failed = await openRun({ id: 'failed', store, ...quiet });
    await failed.fail('a', new Error('nope'));
    const result = await failed.finish();
    expect(result.deleted).toBe(false);
    expect(result.summary.counts.failed).toBe(1);
    expect((await store.load('failed'))?.status).toBe('completed');

    process.env['CHECKPOINT_AUTO_CLEANUP'] = 'false';
    const kept = await openRun({ id: 'kept', store, ...quiet });
    await kept.complete('a');
    expect((await kept.finish()).deleted).toBe(false);
    expect((await store.load('kept'))?.status).toBe('completed');
    await expect(kept.complete('b')).rejects.toBeInstanceOf(RunClosedError);
  });

  it('on SIGINT and SIGTERM saves, marks the job interrupted, releases the lock and exits 130/143', async () => {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const store = memoryStore();
      const target = new EventEmitter();
      const exits: number[] = [];
      const exited = new Promise<void>((resolve) => {
        const exit = (c: number) => {
          exits.push(c);
          resolve();
        };
        void openRun({
          id: 'job',
          store,
          strategy: everyUnits(1000),
          signals: { target, exit },
        }).then(async (run) => {
          await run.plan(['a', 'b']);
          await run.complete('a'); // buffered, not saved by the strategy
          expect((await store.load('job'))?.units['a']).toBeUndefined();
          target.emit(signal);
        });
      });
      await exited;
      expect(exits).toEqual([code]);
      const saved = await store.load('job');
      expect(saved?.status).toBe('interrupted');
      expect(saved?.units['a']?.status).toBe('complete');
      expect(saved?.meta.lastSaveReason).toBe(`Interrupted by ${signal}`);
      expect(target.listenerCount(signal)).toBeLessThanOrEqual(1);
      // The lock is free again.
      await (await openRun({ id: 'job', store, ...quiet })).close();
    }
  });

  it('on a signal while finish() deletes or compacts, lets it end: the job is completed, not interrupted', async () => {
    for (const cleanup of [true, false]) {
      const inner = memoryStore();
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let reached!: () => void;
      const reachedEnd = new Promise<void>((resolve) => {
        reached = resolve;
      });
      // A store whose last step of finish() (delete or compact) waits until the test lets it go.
      const store: CheckpointStore = {
        ...inner,
        async delete(id) {
          reached();
          await held;
          return inner.delete(id);
        },
        async compact(id) {
          reached();
          await held;
          return inner.compact?.(id);
        },
      };
      const target = new EventEmitter();
      const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
      const exits: number[] = [];
      const exited = new Promise<void>((resolve) => {
        const exit = (code: number) => {
          exits.push(code);
          resolve();
        };
        void (async () => {
          const run = await openRun({ id: 'job', store, signals: { target, exit } });
          await run.plan(['a']);
          await run.complete('a');
          const finished = run.finish({ cleanup });
          await reachedEnd;
          target.emit('SIGINT');
          release();
          await finished;
        })();
      });
      await exited;
      const messages = printed.mock.calls;
      printed.mockRestore();
      expect(exits).toEqual([130]);
      expect(messages).toEqual([]); // no "could not save on SIGINT"
      const saved = await inner.load('job');
      if (cleanup) expect(saved).toBeNull();
      else {
        expect(saved?.status).toBe('completed');
        expect(saved?.meta.lastSaveReason).toBe('Finished');
      }
      // The lock is free again.
      await (await openRun({ id: 'job', store: inner, ...quiet })).close();
    }
  });

  it('leaves signals alone with signals: false, and stops listening once every run is closed', async () => {
    const target = new EventEmitter();
    const run = await openRun({
      id: 'job',
      store: memoryStore(),
      signals: { target, exit: () => {} },
    });
    expect(target.listenerCount('SIGINT')).toBe(1);
    const other = await openRun({
      id: 'job2',
      store: memoryStore(),
      signals: { target, exit: () => {} },
    });
    expect(target.listenerCount('SIGINT')).toBe(1);
    await run.close();
    expect(target.listenerCount('SIGINT')).toBe(1);
    await other.close();
    expect(target.listenerCount('SIGINT')).toBe(0);
    const before = process.listenerCount('SIGINT');
    await (await openRun({ id: 'job3', store: memoryStore(), ...quiet })).close();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('treats unit keys and id-map sources like constructor as ordinary names', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), strategy: always(), ...quiet });
    expect(run.unit('constructor')).toBeUndefined();
    expect(run.lookupId('toString', 'constructor')).toBeUndefined();
    await run.plan(['constructor', '__proto__']);
    expect(run.pending()).toEqual(['constructor', '__proto__']);
    await run.progress('__proto__', { cursor: 2, items: 5 });
    expect(run.unit('__proto__')).toMatchObject({ status: 'in_progress', done: 5 });
    expect((await run.mapId('toString', 'constructor', 1)).ok).toBe(true);
    expect((await run.mapId('toString', 'constructor', 2)).ok).toBe(false);
    expect(run.lookupId('toString', 'constructor')).toBe(1);
    await run.close();
  });
});
