import { describe, expect, it } from 'vitest';
import {
  always,
  anyOf,
  type Change,
  type CheckpointStore,
  everyUnits,
  type Json,
  MemoryStorage,
  memoryStore,
  onRateLimit,
  openRun,
  type Page,
  type PipelineEvent,
  pipeline,
  type Sink,
  type Source,
  UnitError,
} from '../../src/index.js';

interface Item {
  unit: string;
  n: number;
}

/** Units `u0..u{units-1}`, each `pages` pages of `size` items; the cursor is the next page number. */
function numberedSource(
  units: number,
  pages: number,
  size = 3,
  hooks: {
    onRead?: (key: string, page: number) => void;
    rateLimit?: (page: number) => Page<Item>['rateLimit'];
  } = {},
): Source<Item> & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    units: () => Array.from({ length: units }, (_, i) => ({ key: `u${i}`, total: pages * size })),
    async *read({ key, cursor }, signal) {
      for (let page = (cursor as number | null) ?? 0; page < pages; page++) {
        if (signal.aborted) return;
        hooks.onRead?.(key, page);
        reads.push(`${key}#${page}`);
        await new Promise((resolve) => setImmediate(resolve));
        const items = Array.from({ length: size }, (_, i) => ({ unit: key, n: page * size + i }));
        const rateLimit = hooks.rateLimit?.(page);
        yield { items, cursor: page + 1, ...(rateLimit && { rateLimit }) };
      }
    },
  };
}

function collectingSink(
  onWrite?: (items: readonly Item[]) => void,
): Sink<Item> & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    write(items) {
      onWrite?.(items);
      for (const item of items) seen.push(`${item.unit}:${item.n}`);
      return undefined;
    },
  };
}

const everyItem = (units: number, pages: number, size = 3) =>
  Array.from({ length: units }, (_, u) =>
    Array.from({ length: pages * size }, (_, n) => `u${u}:${n}`),
  ).flat();

describe('pipeline', () => {
  it('delivers every item once and completes every unit', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = collectingSink();
    const events: PipelineEvent['type'][] = [];
    const result = await pipeline({
      run,
      source: numberedSource(3, 4),
      sink,
      concurrency: 2,
      onProgress: (e) => events.push(e.type),
    });
    expect([...sink.seen].sort()).toEqual(everyItem(3, 4).sort());
    expect(result).toMatchObject({ completed: 3, failed: 0, pages: 12, items: 36, aborted: false });
    expect(result.summary.counts.complete).toBe(3);
    expect(run.unit('u1')).toMatchObject({ status: 'complete', done: 12, total: 12, cursor: 4 });
    expect(events[0]).toBe('planned');
    expect(events.filter((e) => e === 'page')).toHaveLength(12);
    expect(events.filter((e) => e === 'unit-completed')).toHaveLength(3);
    await run.close();
  });

  it('stops mid-unit on abort with everything flushed, and resumes from the recorded cursor', async () => {
    const storage = new MemoryStorage();
    const controller = new AbortController();
    let pagesSunk = 0;
    const sink = collectingSink(() => {
      pagesSunk += 1;
      if (pagesSunk === 5) controller.abort();
    });
    const first = await openRun({
      id: 'job',
      store: memoryStore(storage),
      strategy: everyUnits(1000),
      signals: false,
    });
    const stopped = await pipeline({
      run: first,
      source: numberedSource(2, 4),
      sink,
      signal: controller.signal,
    });
    expect(stopped.aborted).toBe(true);
    expect(first.unsaved).toBe(0);
    await first.close();
    const saved = await memoryStore(storage).load('job');
    expect(saved?.units['u1']).toMatchObject({ status: 'in_progress', cursor: 1, done: 3 });

    const source = numberedSource(2, 4);
    const second = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    const resumed = await pipeline({ run: second, source, sink });
    expect(resumed).toMatchObject({ aborted: false, completed: 1 });
    // Only the pages left were read again, and no item reached the sink twice.
    expect(source.reads).toEqual(['u1#1', 'u1#2', 'u1#3']);
    expect([...sink.seen].sort()).toEqual(everyItem(2, 4).sort());
    await second.finish();
  });

  it('after a crash redelivers only pages that were never acknowledged', async () => {
    const storage = new MemoryStorage();
    const inner = memoryStore(storage);
    let appends = 0;
    // The "process" dies after its 6th append: nothing later is acknowledged.
    const dying: CheckpointStore = {
      ...inner,
      async append(id, changes) {
        if (++appends > 6) throw new Error('process died');
        return inner.append(id, changes);
      },
    };
    const sink = collectingSink();
    const first = await openRun({ id: 'job', store: dying, strategy: always(), signals: false });
    await pipeline({ run: first, source: numberedSource(1, 10), sink }).catch(() => {});
    await first.abandon();
    const acknowledged = (await inner.load('job'))!.units['u0']!.cursor as number;
    const sunkBefore = sink.seen.length;

    const second = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    await pipeline({ run: second, source: numberedSource(1, 10), sink });
    const counts = new Map<string, number>();
    for (const item of sink.seen) counts.set(item, (counts.get(item) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(everyItem(1, 10).sort());
    const twice = [...counts].filter(([, c]) => c > 1).map(([item]) => Number(item.split(':')[1]));
    // Every duplicate lies after the last acknowledged cursor: at-least-once, bounded by the strategy.
    for (const n of twice) expect(Math.floor(n / 3)).toBeGreaterThanOrEqual(acknowledged);
    expect(twice.length).toBe(sunkBefore - acknowledged * 3);
    await second.close();
  });

  it('fails one unit without stopping the others, and retries only retryable failures', async () => {
    const run = await openRun({
      id: 'job',
      store: memoryStore(),
      strategy: always(),
      signals: false,
    });
    const failures: Record<string, Error> = {
      u0: new UnitError('HTTP 451 Unavailable For Legal Reasons', { retryable: false }),
      u2: new Error('ECONNRESET'),
    };
    const source = numberedSource(4, 2, 3, {
      onRead: (key, page) => {
        const failure = failures[key];
        if (failure && page === 1) throw failure;
      },
    });
    const sink = collectingSink();
    const result = await pipeline({ run, source, sink });
    expect(result).toMatchObject({ completed: 2, failed: 2 });
    expect(run.unit('u0')?.error).toMatchObject({
      message: 'HTTP 451 Unavailable For Legal Reasons',
      retryable: false,
    });
    expect(run.unit('u2')?.error).toMatchObject({ message: 'ECONNRESET', retryable: true });
    expect(run.unit('u2')?.cursor).toBe(1);

    delete failures['u2'];
    const again = await pipeline({ run, source: numberedSource(4, 2), sink });
    expect(again).toMatchObject({ completed: 1, failed: 0 });
    expect(run.unit('u2')).toMatchObject({ status: 'complete', attempts: 2, done: 6 });
    expect(run.unit('u0')?.status).toBe('failed');
    await run.close();
  });

  it("records a page's cursor in the same flush as the sink's id mappings", async () => {
    const inner = memoryStore();
    const batches: Change[][] = [];
    const store: CheckpointStore = {
      ...inner,
      append: (id, changes) => {
        batches.push([...changes]);
        return inner.append(id, changes);
      },
    };
    const run = await openRun({ id: 'job', store, strategy: everyUnits(1), signals: false });
    const sink: Sink<Item> = {
      write: (items) => ({
        idMappings: items.map((item) => ({
          map: 'rows',
          source: `${item.unit}:${item.n}`,
          target: item.n * 10,
        })),
      }),
    };
    await pipeline({ run, source: numberedSource(1, 3), sink, transform: (items) => items });
    for (const batch of batches) {
      const cursors = batch.filter((c) => c.type === 'unit.progressed');
      const mapped = batch.filter((c) => c.type === 'id.mapped').map((c) => c.source);
      const expected = cursors.flatMap((c) => {
        const page = (c as { cursor: Json }).cursor as number;
        return [0, 1, 2].map((i) => `u0:${(page - 1) * 3 + i}`);
      });
      expect(mapped).toEqual(expected);
    }
    expect(run.lookupId('rows', 'u0:8')).toBe(80);
    await run.close();
  });

  it('stops and rejects with the error when the store gives up, recording no unit as failed', async () => {
    const storage = new MemoryStorage();
    const base = memoryStore(storage);
    let appends = 0;
    const unavailable = Object.assign(new Error('database unreachable for 30 s'), {
      storeUnavailable: true,
    });
    const store: CheckpointStore = {
      ...base,
      async append(id, changes) {
        appends += 1;
        if (appends > 6) throw unavailable;
        return base.append(id, changes);
      },
    };
    const run = await openRun({ id: 'down', store, strategy: always(), signals: false });
    const source = numberedSource(6, 4);
    const failedEvents: PipelineEvent[] = [];
    await expect(
      pipeline({
        run,
        source,
        sink: { write: () => undefined },
        concurrency: 3,
        onProgress: (event) => {
          if (event.type === 'unit-failed') failedEvents.push(event);
        },
      }),
    ).rejects.toBe(unavailable);
    expect(failedEvents).toEqual([]);
    expect(Object.values(run.checkpoint.units).filter((u) => u.status === 'failed')).toEqual([]);
    // What was saved is still there to resume from, and no unit is marked failed there either.
    const stored = (await base.load('down'))!;
    expect(Object.values(stored.units).filter((u) => u.status === 'failed')).toEqual([]);
    await run.close().catch(() => {});
  });

  it('feeds rate-limit info to the strategy', async () => {
    const inner = memoryStore();
    const run = await openRun({
      id: 'job',
      store: inner,
      strategy: anyOf(everyUnits(1000), onRateLimit(0.2)),
      signals: false,
    });
    const source = numberedSource(1, 3, 3, {
      rateLimit: (page) => ({ remaining: page === 2 ? 800 : 4000, limit: 5000, resource: 'core' }),
    });
    let reasonAfterLastPage: string | null | undefined;
    const sink = collectingSink();
    await pipeline({
      run,
      source,
      sink,
      onProgress: async (event) => {
        if (event.type === 'page' && event.done === 9)
          reasonAfterLastPage = (await inner.load('job'))?.meta.lastSaveReason;
      },
    });
    expect(reasonAfterLastPage).toBe('Rate-limit: 800/5000 (16.0% remaining <= 20.0% threshold)');
    await run.close();
  });

  it('transforms items before the sink, and rejects a bad concurrency', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const seen: string[] = [];
    await pipeline({
      run,
      source: numberedSource(1, 1, 2),
      sink: { write: (labels: readonly string[]) => void seen.push(...labels) },
      transform: (items, { unit }) => items.map((item) => `${unit}/${item.n * 2}`),
    });
    expect(seen).toEqual(['u0/0', 'u0/2']);
    await expect(
      pipeline({ run, source: numberedSource(2, 1), sink: collectingSink(), concurrency: 0 }),
    ).rejects.toThrow(/concurrency/);
    await run.close();
  });
});

describe('sinks', () => {
  it('may be plain async functions that return nothing', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const seen: number[] = [];
    const sink: Sink<Item> = {
      write: async (items) => {
        for (const item of items) seen.push(item.n);
      },
    };
    await pipeline({ run, source: numberedSource(1, 2, 2), sink });
    expect(seen).toEqual([0, 1, 2, 3]);
    await run.close();
  });
});
