import { describe, expect, it } from 'vitest';
import {
  always,
  type Change,
  CheckpointError,
  type CheckpointStore,
  type ClaimRequest,
  everyUnits,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Sink,
  type Source,
  type StoreTransaction,
  UnitTakenOverError,
} from '../../src/index.js';

/**
 * A memory store with worker mode and transactions, the way a database store provides them:
 * claims lease units atomically and record their start; a transaction stages its changes and
 * appends them only when `work` resolved (and `failCommits` is 0). Units named in `taken` went
 * to another worker: a transaction leaves out their changes and names them as stale, as a
 * database store does for units whose lease this worker lost.
 */
function sharedStore(
  storage: MemoryStorage,
  leases: Map<string, { worker: string; until: number }>,
) {
  const base = memoryStore(storage);
  const control = {
    failCommits: 0,
    outcomeUnknown: false,
    commits: 0,
    retries: 0,
    taken: new Set<string>(),
  };
  const store: CheckpointStore & { control: typeof control } = {
    ...base,
    description: 'shared memory store',
    control,
    async join(id, options) {
      const created = !storage.entries.has(id);
      if (created) await base.append(id, [options.created]);
      const owner = { pid: 1, host: options.worker, since: new Date().toISOString() };
      return {
        id,
        owner,
        created,
        async release() {
          for (const [key, lease] of leases)
            if (lease.worker === options.worker) leases.delete(key);
        },
      };
    },
    async claimUnits(id, request: ClaimRequest) {
      const checkpoint = (await base.load(id))!;
      const now = Date.now();
      const taken: string[] = [];
      let leasedElsewhere = 0;
      for (const [key, unit] of Object.entries(checkpoint.units)) {
        const lease = leases.get(`${id}/${key}`);
        const live = lease !== undefined && lease.until > now;
        if (live && lease.worker !== request.worker && unit.status !== 'complete')
          leasedElsewhere += 1;
        if (live || taken.length >= request.limit) continue;
        const retry =
          unit.status === 'failed' &&
          (request.retryFailed === true ||
            (request.retryFailed === 'retryable' && unit.error?.retryable)) &&
          (request.failedBefore === undefined || (unit.error?.at ?? '') < request.failedBefore);
        if (unit.status === 'pending' || unit.status === 'in_progress' || retry) taken.push(key);
      }
      // Leased before the next await, so two claims never take the same unit.
      for (const key of taken)
        leases.set(`${id}/${key}`, { worker: request.worker, until: now + request.leaseMs });
      const at = new Date().toISOString();
      await base.append(
        id,
        taken.map((key): Change => ({ type: 'unit.started', at, key })),
      );
      const after = (await base.load(id))!;
      return {
        units: taken.map((key) => ({ key, unit: after.units[key]! })),
        leasedElsewhere,
        nextExpiry: leasedElsewhere > 0 ? new Date(now + 50).toISOString() : null,
      };
    },
    async transaction(id, work) {
      const attempt = async () => {
        const staged: Change[] = [];
        const tx: StoreTransaction = {
          client: { staged },
          async append(changes) {
            const stale = new Set<string>();
            for (const change of changes) {
              if ('key' in change && control.taken.has(change.key)) stale.add(change.key);
              else staged.push(change);
            }
            return { stale: [...stale] };
          },
        };
        return { value: await work(tx), staged };
      };
      // A try whose connection broke before it committed: the store runs `work` again.
      while (control.retries > 0) {
        control.retries -= 1;
        await attempt();
      }
      const { value, staged } = await attempt();
      if (control.failCommits > 0) {
        control.failCommits -= 1;
        const error = new Error('commit failed') as Error & { outcomeUnknown?: boolean };
        if (control.outcomeUnknown) error.outcomeUnknown = true;
        throw error;
      }
      await base.append(id, staged);
      control.commits += 1;
      return value;
    },
  };
  return store;
}

function shared() {
  const storage = new MemoryStorage();
  const leases = new Map<string, { worker: string; until: number }>();
  return { storage, leases, open: () => sharedStore(storage, leases) };
}

function countingSource(units: number, pages: number): Source<string> {
  return {
    units: () => Array.from({ length: units }, (_, i) => ({ key: `u${i}` })),
    async *read({ key, cursor }) {
      for (let page = (cursor as number | null) ?? 0; page < pages; page++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield { items: [`${key}#${page}`], cursor: page + 1 };
      }
    },
  };
}

describe('run.transaction', () => {
  it('commits the buffered changes and those recorded inside it together', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({ id: 'tx', store, strategy: everyUnits(100), signals: false });
    await run.plan(['a', 'b']);
    expect(run.unsaved).toBe(2);
    const seen = await run.transaction(async (client) => {
      await run.progress('a', { cursor: 1, items: 5 });
      return client;
    }, 'Page of a');
    expect(seen).toHaveProperty('staged');
    expect(run.unsaved).toBe(0);
    const stored = await store.load('tx');
    expect(stored?.units['a']).toMatchObject({ cursor: 1, done: 5 });
    expect(stored?.meta.lastSaveReason).toBe('Page of a');
    expect(run.checkpoint.meta.saveCount).toBe(stored?.meta.saveCount);
    await run.close();
  });

  it('takes back what was recorded inside a transaction that did not commit, and keeps what was buffered before', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({ id: 'tx', store, strategy: everyUnits(100), signals: false });
    await run.plan(['a']);
    await run.flush();
    await run.count('before');
    store.control.failCommits = 1;
    await expect(
      run.transaction(async () => {
        await run.progress('a', {
          cursor: 9,
          items: 3,
          idMappings: [{ map: 'm', source: 's', target: 1 }],
        });
        await run.count('inside', 2);
        await run.setMeta('k', 'v');
      }),
    ).rejects.toThrow('commit failed');
    expect(run.unit('a')).toMatchObject({ status: 'pending', cursor: null, done: 0 });
    expect(run.lookupId('m', 's')).toBeUndefined();
    expect(run.checkpoint.stats).toEqual({ before: 1 });
    expect(run.checkpoint.meta.user).toEqual({});
    expect(run.unsaved).toBe(1);
    await run.flush();
    expect((await store.load('tx'))?.stats).toEqual({ before: 1 });
    await run.close();
  });

  it('takes back only its own changes: what other work recorded while it was open stays, and is saved', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({ id: 'tx', store, strategy: everyUnits(100), signals: false });
    await run.plan(['a', 'b', 'c', 'd']);
    await run.start('d');
    await run.flush();
    store.control.failCommits = 1;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const failing = run.transaction(async () => {
      await run.progress('a', { cursor: 1, items: 2 });
      await run.count('shared', 10);
      open();
      await gate;
      await run.count('inside');
    });
    await opened;
    // Other units' work, outside the transaction, while it is open.
    await run.start('b');
    await run.complete('b', { items: 4 });
    await run.start('c');
    await run.fail('c', new Error('gone'), { retryable: true });
    await run.progress('d', { cursor: 7, items: 1 });
    await run.count('shared', 3);
    release();
    await expect(failing).rejects.toThrow('commit failed');

    const expectOthersKept = (units: Record<string, unknown>, stats: Record<string, number>) => {
      expect(units['a']).toMatchObject({ status: 'pending', cursor: null, done: 0 });
      expect(units['b']).toMatchObject({ status: 'complete', done: 4 });
      expect(units['c']).toMatchObject({ status: 'failed' });
      expect(units['d']).toMatchObject({ status: 'in_progress', cursor: 7, done: 1 });
      expect(stats).toEqual({ shared: 3 });
    };
    expectOthersKept(run.checkpoint.units, run.checkpoint.stats);
    await run.flush();
    const stored = (await store.load('tx'))!;
    expectOthersKept(stored.units, stored.stats);
    await run.close();
  });

  it('lets the store run the work again after a try that did not commit: the first try leaves nothing behind', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({ id: 'tx', store, strategy: everyUnits(100), signals: false });
    await run.plan(['a']);
    let tries = 0;
    store.control.retries = 2;
    await run.transaction(async () => {
      tries += 1;
      // Each try creates a new target id, as a sink inserting rows would.
      await run.progress('a', {
        cursor: tries,
        items: 5,
        idMappings: [{ map: 'm', source: 's', target: `row-${tries}` }],
      });
      await run.count('pages');
    });
    expect(tries).toBe(3);
    expect(run.checkpoint.stats).toEqual({ pages: 1 });
    expect(run.checkpoint.stats['idMapConflicts']).toBeUndefined();
    const stored = (await store.load('tx'))!;
    expect(stored.units['a']).toMatchObject({ cursor: 3, done: 5 });
    expect(stored.idMaps['m']).toEqual({ s: 'row-3' });
    expect(stored.stats).toEqual({ pages: 1 });
    await run.close();
  });

  it('closes the run when the store cannot tell whether the transaction committed', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({ id: 'tx', store, strategy: always(), signals: false });
    store.control.failCommits = 1;
    store.control.outcomeUnknown = true;
    await expect(run.transaction(async () => run.count('x'))).rejects.toThrow('commit failed');
    expect(run.closed).toBe(true);
  });

  it('closes the run when the store cannot tell whether a flush was saved', async () => {
    const base = memoryStore();
    let unknown = true;
    const store: CheckpointStore = {
      ...base,
      async append(id, changes) {
        if (changes[0]?.type !== 'created' && unknown) {
          unknown = false;
          throw Object.assign(new Error('connection lost while committing'), {
            outcomeUnknown: true,
          });
        }
        return base.append(id, changes);
      },
    };
    const run = await openRun({ id: 'flush', store, strategy: always(), signals: false });
    await expect(run.count('x')).rejects.toThrow('connection lost');
    expect(run.closed).toBe(true);
    expect(run.unsaved).toBe(0);
    const again = await openRun({ id: 'flush', store, strategy: always(), signals: false });
    expect(again.resumed).toBe(true);
    await again.close();
  });

  it('refuses on a store without transactions', async () => {
    const run = await openRun({ id: 'tx', store: memoryStore(), signals: false });
    await expect(run.transaction(async () => 1)).rejects.toBeInstanceOf(CheckpointError);
    await run.close();
  });

  it('lets a transactional sink commit its rows with the page cursor, and retries nothing twice', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({ id: 'sink', store, strategy: everyUnits(100), signals: false });
    const rows: string[] = [];
    let failOnce = true;
    const sink: Sink<string> = {
      transactional: true,
      async write(items, context) {
        expect(context.transaction).toHaveProperty('staged');
        if (failOnce && items[0] === 'u1#1') {
          failOnce = false;
          store.control.failCommits = 1;
        }
        const staged = (context.transaction as { staged: Change[] }).staged;
        // Rows "in the transaction": kept only when it commits.
        staged.push({ type: 'meta.set', key: `row:${items[0]}`, value: true });
        return undefined;
      },
    };
    const result = await pipeline({ run, source: countingSource(2, 3), sink });
    expect(result.failed).toBe(1);
    const stored = (await store.load('sink'))!;
    for (const key of Object.keys(stored.meta.user)) rows.push(key);
    // u1's second page did not commit: its cursor stayed at 1, and its row is not there.
    expect(stored.units['u1']).toMatchObject({ status: 'failed', cursor: 1, done: 1 });
    expect(rows.sort()).toEqual(['row:u0#0', 'row:u0#1', 'row:u0#2', 'row:u1#0']);
    await run.close();
    const again = await openRun({ id: 'sink', store, strategy: always(), signals: false });
    await pipeline({ run: again, source: countingSource(2, 3), sink });
    const final = (await store.load('sink'))!;
    expect(Object.keys(final.meta.user).sort()).toEqual([
      'row:u0#0',
      'row:u0#1',
      'row:u0#2',
      'row:u1#0',
      'row:u1#1',
      'row:u1#2',
    ]);
    await again.close();
  });

  it('refuses a transaction whose work was on a unit another worker took over, and commits one that only carries stale changes from before', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({
      id: 'stale',
      store,
      strategy: everyUnits(100),
      signals: false,
      worker: { id: 'late' },
    });
    await run.plan(['a', 'b']);
    await run.flush();
    await run.claim(2);
    store.control.taken.add('a');
    const refused = await run
      .transaction(async (client) => {
        (client as { staged: Change[] }).staged.push({ type: 'meta.set', key: 'row:a', value: 1 });
        await run.progress('a', { cursor: 1, items: 1 });
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnitTakenOverError);
    expect(refused).toMatchObject({ checkpointId: 'stale', key: 'a', worker: 'late' });
    expect((refused as Error).message).toContain('worker late');
    // Taken back: the run does not think it saved a page of a.
    expect(run.unit('a')).toMatchObject({ cursor: null, done: 0 });
    // A stale change of a buffered before it does not refuse a transaction of b's own.
    await run.complete('a');
    await run.transaction(async (client) => {
      (client as { staged: Change[] }).staged.push({ type: 'meta.set', key: 'row:b', value: 1 });
      await run.progress('b', { cursor: 1, items: 1 });
    });
    expect(run.unsaved).toBe(0);
    const stored = (await store.load('stale'))!;
    expect(Object.keys(stored.meta.user)).toEqual(['row:b']);
    expect(stored.units['a']).toMatchObject({ status: 'in_progress', cursor: null });
    expect(stored.units['b']).toMatchObject({ cursor: 1, done: 1 });
    await run.abandon();
  });

  it('lets a pipeline worker go on past units another worker took over: not failed, not completed, their pages not committed', async () => {
    const store = sharedStore(new MemoryStorage(), new Map());
    const run = await openRun({
      id: 'taken',
      store,
      strategy: everyUnits(100),
      signals: false,
      worker: { id: 'late' },
    });
    const sink: Sink<string> = {
      transactional: true,
      async write(items, context) {
        // u1 goes to another worker while this one reads its second page.
        if (items[0] === 'u1#1') store.control.taken.add('u1');
        const staged = (context.transaction as { staged: Change[] }).staged;
        staged.push({ type: 'meta.set', key: `row:${items[0]}`, value: true });
        return undefined;
      },
    };
    const events: string[] = [];
    const result = await pipeline({
      run,
      source: countingSource(3, 3),
      sink,
      onProgress: (event) => {
        if (event.type === 'unit-taken-over' || event.type === 'unit-failed')
          events.push(`${event.type} ${event.key}`);
      },
    });
    expect(result).toMatchObject({ completed: 2, failed: 0, pages: 7 });
    expect(events).toEqual(['unit-taken-over u1']);
    const stored = (await store.load('taken'))!;
    expect(Object.keys(stored.meta.user).sort()).toEqual([
      'row:u0#0',
      'row:u0#1',
      'row:u0#2',
      'row:u1#0',
      'row:u2#0',
      'row:u2#1',
      'row:u2#2',
    ]);
    expect(stored.units['u1']).toMatchObject({ status: 'in_progress', cursor: 1 });
    await run.abandon();
  });
});

describe('worker mode', () => {
  it('lets workers share a checkpoint: each unit is worked once, and the last finish completes it', async () => {
    const { open } = shared();
    const delivered: string[] = [];
    const sink: Sink<string> = { write: (items) => void delivered.push(...items) };
    const runs = await Promise.all(
      ['w1', 'w2', 'w3'].map((id) =>
        openRun({
          id: 'job',
          store: open(),
          worker: { id, leaseMs: 10_000 },
          strategy: always(),
          signals: false,
        }),
      ),
    );
    expect(runs.map((run) => run.worker?.id)).toEqual(['w1', 'w2', 'w3']);
    const results = await Promise.all(
      runs.map((run) => pipeline({ run, source: countingSource(12, 2), sink, concurrency: 2 })),
    );
    expect(results.reduce((sum, r) => sum + r.completed, 0)).toBe(12);
    expect(results.filter((r) => r.completed > 0).length).toBeGreaterThan(1);
    expect(delivered).toHaveLength(24);
    expect(new Set(delivered).size).toBe(24);
    const first = await runs[0]!.finish();
    expect(first.deleted).toBe(false);
    expect(first.summary.counts.complete).toBe(12);
    expect(first.summary.status).toBe('completed');
    const stored = (await open().load('job'))!;
    expect(stored.status).toBe('completed');
    expect(Object.values(stored.units).every((u) => u.attempts === 1)).toBe(true);
    for (const run of runs.slice(1)) await run.close();
  });

  it('gives a dead worker’s units to another once its lease expired, one attempt more', async () => {
    const { open, storage } = shared();
    const dead = await openRun({
      id: 'job',
      store: open(),
      // Long enough that the early claim below comes before it expires, even on a loaded machine.
      worker: { id: 'dead', leaseMs: 1_000 },
      signals: false,
    });
    await dead.plan(['u0', 'u1']);
    await dead.flush();
    const claim = await dead.claim(2);
    expect(claim.keys).toEqual(['u0', 'u1']);
    expect(dead.unit('u0')).toMatchObject({ status: 'in_progress', attempts: 1 });
    const alive = await openRun({
      id: 'job',
      store: open(),
      worker: { id: 'alive', leaseMs: 10_000 },
      signals: false,
    });
    const early = await alive.claim(5);
    expect(early.keys).toEqual([]);
    expect(early.leasedElsewhere).toBe(2);
    // The pipeline waits (polling) until the dead worker's leases expire, then takes the units.
    const result = await pipeline({
      run: alive,
      source: countingSource(2, 1),
      sink: { write: () => undefined },
    });
    expect(result.completed).toBe(2);
    expect(alive.unit('u0')).toMatchObject({ status: 'complete', attempts: 2 });
    await alive.close();
    expect(storage.entries.get('job')).toBeDefined();
    await dead.abandon();
  });

  it('waits for units other workers hold, and stops when none is left', async () => {
    const { open } = shared();
    const slow = await openRun({
      id: 'job',
      store: open(),
      worker: { id: 'slow', leaseMs: 10_000 }, // held for the whole test: the other must wait
      signals: false,
    });
    await slow.plan(['u0']);
    await slow.flush();
    await slow.claim(1);
    // Tells when the other worker's claim found the unit held elsewhere: it is waiting then.
    const otherStore = open();
    const claimUnits = otherStore.claimUnits!;
    let found!: () => void;
    const foundHeld = new Promise<void>((resolve) => {
      found = resolve;
    });
    otherStore.claimUnits = async (id, request) => {
      const result = await claimUnits(id, request);
      if (result.leasedElsewhere > 0) found();
      return result;
    };
    const other = await openRun({
      id: 'job',
      store: otherStore,
      worker: { id: 'other', leaseMs: 1000 },
      signals: false,
    });
    const done = pipeline({
      run: other,
      source: countingSource(1, 1),
      sink: { write: () => undefined },
    });
    await foundHeld;
    // The slow worker finishes its unit: the waiting one then has nothing left and returns.
    await slow.complete('u0');
    await slow.flush();
    const result = await done;
    expect(result.completed).toBe(0);
    await slow.close();
    await other.close();
  });

  it('does not mark the checkpoint interrupted when one worker closes, nor complete while units remain', async () => {
    const { open } = shared();
    const a = await openRun({ id: 'job', store: open(), worker: { id: 'a' }, signals: false });
    const b = await openRun({ id: 'job', store: open(), worker: { id: 'b' }, signals: false });
    await a.plan(['x', 'y']);
    await a.flush();
    await a.close();
    expect((await open().load('job'))?.status).toBe('running');
    const finished = await b.finish();
    expect(finished.summary.status).toBe('running');
    expect(finished.summary.counts.pending).toBe(2);
  });

  it('creates the checkpoint once when workers join together, and checks the config', async () => {
    const { open } = shared();
    const runs = await Promise.all(
      [1, 2, 3].map((n) =>
        openRun({
          id: 'job',
          store: open(),
          config: { v: 1 },
          worker: { id: `w${n}` },
          signals: false,
        }),
      ),
    );
    expect(runs.filter((run) => !run.resumed)).toHaveLength(1);
    for (const run of runs) await run.close();
    await expect(
      openRun({ id: 'job', store: open(), config: { v: 2 }, worker: {}, signals: false }),
    ).rejects.toThrow(/another config/);
    await expect(
      openRun({
        id: 'job',
        store: open(),
        config: { v: 2 },
        worker: {},
        onConfigChange: 'reset',
        signals: false,
      }),
    ).rejects.toThrow(/reset/);
    const kept = await openRun({
      id: 'job',
      store: open(),
      config: { v: 2 },
      worker: {},
      onConfigChange: 'keep',
      signals: false,
    });
    expect(kept.worker?.id).toMatch(/^worker-/);
    await kept.close();
  });

  it('refuses worker mode on a store without it, and claims outside worker mode', async () => {
    await expect(
      openRun({ id: 'job', store: memoryStore(), worker: { leaseMs: 1000 }, signals: false }),
    ).rejects.toThrow(/no worker mode/);
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await expect(run.claim(1)).rejects.toThrow(/worker mode/);
    await run.close();
  });
});
