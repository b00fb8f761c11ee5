/**
 * Sources, sinks and transforms that break their contracts, as users' own code will: the pipeline
 * must fail the unit with an error that says what was wrong, record nothing false, stop every
 * unit before it settles, and never run the checkpoint's cursor ahead of what the sink wrote.
 * Hangs are bounded by turns of the event loop, never by the clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStore } from '@checkpointkit/storage-file';
import { afterEach, describe, expect, it } from 'vitest';
import {
  always,
  type Change,
  CheckpointError,
  type CheckpointStore,
  ContractError,
  everyUnits,
  type Json,
  MemoryStorage,
  memoryStore,
  OptionsError,
  openRun,
  type Page,
  pipeline,
  type Sink,
  type Source,
  type StoreTransaction,
} from '../../src/index.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Settles with `promise`, or 'hung' when it is still pending after `turns` turns of the loop. */
async function within<T>(promise: Promise<T>, turns = 500): Promise<T | 'hung'> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  for (let i = 0; i < turns && !settled; i++) await tick();
  return settled ? watched : 'hung';
}

/** Units `u0..u{units-1}` of `pages` pages `[p*10, p*10+1]`; `page` may replace or throw for one. */
function source(
  units: number,
  pages: number,
  page: (key: string, p: number) => unknown = () => undefined,
): Source<number> & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    units: () => Array.from({ length: units }, (_, i) => ({ key: `u${i}` })),
    async *read({ key, cursor }) {
      for (let p = (cursor as number | null) ?? 0; p < pages; p++) {
        await tick();
        reads.push(`${key}#${p}`);
        const replaced = page(key, p);
        yield (
          replaced === undefined ? { items: [p * 10, p * 10 + 1], cursor: p + 1 } : replaced
        ) as Page<number>;
      }
    },
  };
}

/** A sink that remembers what it wrote and counts writes made after `close()`. */
function recordingSink(result: (items: readonly number[]) => unknown = () => undefined) {
  const state = { written: [] as number[], writes: 0, afterClose: 0, closed: false };
  const sink: Sink<number> = {
    write(items) {
      state.writes += 1;
      if (state.closed) state.afterClose += 1;
      state.written.push(...items);
      return result(items) as never;
    },
    close() {
      state.closed = true;
    },
  };
  return Object.assign(sink, { state });
}

const open = (store: CheckpointStore = memoryStore(), strategy = everyUnits(1)) =>
  openRun({ id: 'job', store, strategy, signals: false });

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'checkpointkit-hostile-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a source that throws what is not an Error', () => {
  const unreadable = {
    get message(): string {
      throw new Error('message getter');
    },
    toString(): string {
      throw new Error('toString');
    },
  };
  const badRetryable = Object.defineProperty(new Error('flaky'), 'retryable', {
    get() {
      throw new Error('retryable getter');
    },
  });
  it.each([
    ['a string', 'boom', 'boom'],
    ['undefined', undefined, 'undefined was thrown, not an Error'],
    ['null', null, 'null was thrown, not an Error'],
    ['a plain object', { code: 'E1' }, '{"code":"E1"} was thrown, not an Error'],
    ['an object with a message', { message: 'rate limited', status: 429 }, 'rate limited'],
    ['an object whose message and toString throw', unreadable, 'could not be read'],
    ['an Error whose retryable getter throws', badRetryable, 'flaky'],
    [
      'an Error whose message is an object',
      Object.assign(new Error(), { message: { a: 1 } }),
      '{"a":1}',
    ],
  ])(
    'fails its unit with a readable message when it throws %s, and the others go on',
    async (_, thrown, message) => {
      const run = await open();
      const sink = recordingSink();
      const result = await pipeline({
        run,
        source: source(3, 3, (key, p) => {
          if (key === 'u1' && p === 1) throw thrown;
        }),
        sink,
        concurrency: 2,
      });
      expect(result).toMatchObject({ completed: 2, failed: 1 });
      const error = run.unit('u1')?.error;
      expect(typeof error?.message).toBe('string');
      expect(error?.message).toContain(message);
      expect(sink.state.afterClose).toBe(0);
      await run.close();
    },
  );

  it('fails the unit, not every later flush, when an Error has a message the file store cannot hold', async () => {
    const dir = tempDir();
    const run = await open(fileStore({ dir }), everyUnits(1));
    const weird = Object.assign(new Error('x'), { message: { code: 1 } });
    const result = await pipeline({
      run,
      source: source(2, 2, (key) => {
        if (key === 'u0') throw weird;
      }),
      sink: recordingSink(),
    });
    expect(result).toMatchObject({ completed: 1, failed: 1 });
    await run.close();
    const stored = (await fileStore({ dir }).load('job'))!;
    expect(stored.units['u0']).toMatchObject({
      status: 'failed',
      error: { message: '{"code":1}' },
    });
    expect(stored.units['u1']).toMatchObject({ status: 'complete', done: 4 });
  });
});

describe('an error outside the pages of a unit', () => {
  it('stops every unit before pipeline() rejects: no sink write after close', async () => {
    const base = memoryStore();
    let failed = false;
    const diskFull = new Error('ENOSPC: no space left on device');
    const store: CheckpointStore = {
      ...base,
      async append(id, changes) {
        // u2's start cannot be saved: a plain store error, not a run-fatal one.
        const start = changes.some((c) => c.type === 'unit.started' && c.key === 'u2');
        if (start && !failed) {
          failed = true;
          throw diskFull;
        }
        return base.append(id, changes);
      },
    };
    const run = await open(store, always());
    const sink = recordingSink();
    // u0 ends at once and u2 starts while u1 is still being read.
    const long = source(4, 20);
    const src: Source<number> = {
      ...long,
      read: (unit, signal) =>
        unit.key === 'u0' ? source(1, 1).read(unit, signal) : long.read(unit, signal),
    };
    await expect(pipeline({ run, source: src, sink, concurrency: 2 })).rejects.toBe(diskFull);
    const writesAtReject = sink.state.writes;
    for (let i = 0; i < 50; i++) await tick();
    expect(sink.state.writes).toBe(writesAtReject);
    expect(sink.state.afterClose).toBe(0);
    await run.close().catch(() => {});
  });
});

describe('a sink whose result breaks the contract', () => {
  it.each([
    ['meta as a string', { meta: 'abc' }, 'meta'],
    ['meta as a number', { meta: 5 }, 'meta'],
    ['meta as an array', { meta: ['x'] }, 'meta'],
    ['meta as a Map', { meta: new Map([['sink:offset', 42]]) }, 'meta'],
    ['idMappings as an object', { idMappings: { map: 'm', source: 's', target: 1 } }, 'idMappings'],
    ['idMappings as a string', { idMappings: 'ab' }, 'idMappings'],
  ])('fails the unit, recording nothing of it, when it returns %s', async (_, returned, field) => {
    const run = await open();
    const result = await pipeline({
      run,
      source: source(1, 2),
      sink: recordingSink(() => returned),
    });
    expect(result.failed).toBe(1);
    const error = run.unit('u0')?.error;
    expect(error).toMatchObject({ retryable: false });
    expect(error?.message).toContain(`sink.write for unit "u0" returned ${field} that is`);
    expect(run.unit('u0')).toMatchObject({ cursor: null, done: 0 });
    expect(run.checkpoint.meta.user).toEqual({});
    expect(run.checkpoint.idMaps).toEqual({});
    await run.close();
  });

  it('records the items of the page even when the sink empties the array it was given', async () => {
    const run = await open();
    const drained: number[] = [];
    const result = await pipeline({
      run,
      source: source(1, 3),
      sink: { write: (items) => void drained.push(...(items as number[]).splice(0)) },
    });
    expect(drained).toHaveLength(6);
    expect(result.items).toBe(6);
    expect(run.unit('u0')).toMatchObject({ status: 'complete', done: 6 });
    await run.close();
  });
});

describe('a page that breaks the contract', () => {
  it.each([
    [
      'whose items are undefined',
      { items: undefined, cursor: 1 },
      'items is undefined, not an array',
    ],
    ['whose items are a string', { items: 'abc', cursor: 1 }, 'items is a string, not an array'],
    [
      'whose items are array-like',
      { items: { length: 2 }, cursor: 1 },
      'items is an object, not an array',
    ],
    ['that is null', null, 'a page that is null, not { items, cursor }'],
    ['that is a number', 7, 'a page that is a number, not { items, cursor }'],
    ['whose total is NaN', { items: [1], cursor: 1, total: Number.NaN }, 'total is NaN'],
  ])('fails its unit before the sink sees a page %s', async (_, page, message) => {
    const run = await open();
    const sink = recordingSink();
    const result = await pipeline({ run, source: source(1, 2, () => page), sink });
    expect(result.failed).toBe(1);
    expect(sink.state.writes).toBe(0);
    expect(run.unit('u0')?.error).toMatchObject({ retryable: false });
    expect(run.unit('u0')?.error?.message).toContain(message);
    expect(run.unit('u0')).toMatchObject({ cursor: null, done: 0 });
    await run.close();
  });
});

describe('a transform that breaks the contract', () => {
  it.each([
    ['undefined', () => undefined],
    ['a promise of an object', async () => ({ items: [] })],
    ['a string', () => 'abc'],
  ])('fails the unit before the sink sees the page when it returns %s', async (_, transform) => {
    const run = await open();
    const sink = recordingSink();
    const result = await pipeline({
      run,
      source: source(1, 2),
      sink,
      transform: transform as never,
    });
    expect(result.failed).toBe(1);
    expect(sink.state.writes).toBe(0);
    expect(run.unit('u0')?.error?.message).toContain('transform for unit "u0" returned');
    expect(run.unit('u0')).toMatchObject({ cursor: null, done: 0 });
    await run.close();
  });

  it('fails the unit when it throws synchronously', async () => {
    const run = await open();
    const result = await pipeline({
      run,
      source: source(2, 2),
      sink: recordingSink(),
      transform: (items, { unit }) => {
        if (unit === 'u0') throw new TypeError('cannot map');
        return items;
      },
    });
    expect(result).toMatchObject({ completed: 1, failed: 1 });
    expect(run.unit('u0')?.error?.message).toBe('cannot map');
    await run.close();
  });
});

describe('aborts', () => {
  it('reads no further page from the source once the signal aborted during a write', async () => {
    const run = await open();
    const controller = new AbortController();
    const src = source(1, 10);
    const result = await pipeline({
      run,
      source: src,
      sink: { write: () => controller.abort() },
      signal: controller.signal,
    });
    expect(result).toMatchObject({ aborted: true, pages: 1 });
    expect(src.reads).toEqual(['u0#0']);
    await run.close();
  });

  /**
   * An exactly-once sink in memory: `lines` is its file; the length rides with each page as
   * `meta`, and `open` cuts the file back to the last recorded length.
   */
  function exactlyOnceSink(lines: string[], at: (point: string) => void): Sink<number> {
    return {
      open: ({ run }) => {
        lines.length = (run.checkpoint.meta.user['sink:lines'] as number | undefined) ?? 0;
      },
      async write(items, { unit }) {
        at('before write');
        for (const item of items) lines.push(`${unit}:${item}`);
        at('after write');
        return { meta: { 'sink:lines': lines.length } };
      },
    };
  }

  const points = ['before page', 'before write', 'after write', 'during flush', 'after flush'];
  const everyLine = (units: number, pages: number) =>
    Array.from({ length: units }, (_, u) =>
      Array.from({ length: pages * 2 }, (_, i) => `u${u}:${Math.floor(i / 2) * 10 + (i % 2)}`),
    )
      .flat()
      .sort();

  for (const storeKind of ['memory', 'file'] as const) {
    for (const ending of ['abort', 'crash'] as const) {
      it.each(points)(
        `writes every item exactly once with an exactly-once sink after an ${ending} %s (${storeKind} store)`,
        async (point) => {
          const dir = storeKind === 'file' ? tempDir() : '';
          const storage = new MemoryStorage();
          const makeStore = () =>
            storeKind === 'file' ? fileStore({ dir }) : memoryStore(storage);
          // Two units share each flush (group commit): 8 pages, 4 page flushes.
          for (let stopAt = 1; stopAt <= 4; stopAt++) {
            if (storeKind === 'file') rmSync(dir, { recursive: true, force: true });
            storage.entries.clear();
            const lines: string[] = [];
            const controller = new AbortController();
            let seen = 0;
            let stopped = false;
            const inner = makeStore();
            let run: Awaited<ReturnType<typeof openRun>>;
            const stop = () => {
              if (stopped) return;
              stopped = true;
              controller.abort();
              // A crash: what was not flushed is gone, and the process does nothing more.
              if (ending === 'crash') void run.abandon();
            };
            const at = (here: string) => {
              if (here === point && ++seen === stopAt) stop();
            };
            const store: CheckpointStore = {
              ...inner,
              async append(id, changes) {
                const page = changes.some((c) => c.type === 'unit.progressed');
                if (page) at('during flush');
                await inner.append(id, changes);
                if (page) at('after flush');
              },
            };
            // Every change saved: each page has a flush to stop in.
            run = await openRun({ id: 'job', store, strategy: always(), signals: false });
            const src = source(2, 4, (_key, p) => {
              at('before page');
              return { items: [p * 10, p * 10 + 1], cursor: p + 1 } satisfies Page<number>;
            });
            await pipeline({
              run,
              source: src,
              sink: exactlyOnceSink(lines, at),
              concurrency: 2,
              signal: controller.signal,
            }).catch(() => {});
            if (ending === 'abort') await run.close();
            else await run.abandon();
            expect(stopped).toBe(true);

            const again = await openRun({ id: 'job', store: makeStore(), signals: false });
            const result = await pipeline({
              run: again,
              source: source(2, 4),
              sink: exactlyOnceSink(lines, () => {}),
            });
            expect(result.aborted).toBe(false);
            expect([...lines].sort()).toEqual(everyLine(2, 4));
            await again.close();
          }
        },
      );
    }
  }
});

describe('values a source or sink changes after handing them over', () => {
  it('keeps the cursor a source yielded, though the source advances the same object before the page is written', async () => {
    const storage = new MemoryStorage();
    const run = await open(memoryStore(storage), everyUnits(1));
    let fastDone!: () => void;
    const fastFinished = new Promise<void>((resolve) => {
      fastDone = resolve;
    });
    const src: Source<string> = {
      units: () => [{ key: 'reused' }, { key: 'fast' }],
      async *read({ key, cursor }) {
        if (key === 'fast') {
          for (let i = (cursor as number | null) ?? 0; i < 2; i++) {
            await tick();
            yield { items: [`fast${i}`], cursor: i + 1 };
          }
          return;
        }
        // One cursor object for the whole read, advanced before each fetch.
        const state = { page: (cursor as { page: number } | null)?.page ?? 0 };
        while (state.page < 3) {
          const page = state.page;
          state.page += 1;
          if (page === 1) await fastFinished;
          yield { items: [`reused${page}`], cursor: state };
        }
      },
    };
    const written: string[] = [];
    const sink: Sink<string> = { write: (items) => void written.push(...items) };
    await pipeline({
      run,
      source: src,
      sink,
      concurrency: 2,
      onProgress: (event) => {
        // fast's completion was flushed while `reused` fetched its second page: crash now.
        if (event.type === 'unit-completed' && event.key === 'fast') {
          void run.abandon();
          fastDone();
        }
      },
    }).catch(() => {});
    expect((await memoryStore(storage).load('job'))?.units['reused']?.cursor).toEqual({ page: 1 });

    const again = await open(memoryStore(storage));
    await pipeline({ run: again, source: src, sink });
    expect(written.filter((item) => item.startsWith('reused')).sort()).toEqual([
      'reused0',
      'reused1',
      'reused2',
    ]);
    await again.close();
  });

  it('keeps a cursor or meta value as it was recorded, not as the caller changed it before the flush', async () => {
    const storage = new MemoryStorage();
    const run = await open(memoryStore(storage), everyUnits(1000));
    const cursor = { page: 1 };
    const meta: Json = { offset: 10 };
    await run.progress('u', { cursor, items: 1, meta: { 'sink:state': meta } });
    await run.setMeta('other', meta);
    await run.complete('v', { cursor });
    cursor.page = 99;
    (meta as { offset: number }).offset = 99;
    expect(run.unit('u')?.cursor).toEqual({ page: 1 });
    await run.flush();
    const stored = (await memoryStore(storage).load('job'))!;
    expect(stored.units['u']?.cursor).toEqual({ page: 1 });
    expect(stored.units['v']?.cursor).toEqual({ page: 1 });
    expect(stored.meta.user).toEqual({ 'sink:state': { offset: 10 }, other: { offset: 10 } });
    await run.close();
  });
});

describe('a sink that calls the run back', () => {
  /** A memory store with transactions: a transaction's changes are appended when `work` resolved. */
  function transactionalStore(): CheckpointStore {
    const base = memoryStore();
    return {
      ...base,
      async transaction(id, work) {
        const staged: Change[] = [];
        const tx: StoreTransaction = {
          client: {},
          async append(changes) {
            staged.push(...changes);
          },
        };
        const value = await work(tx);
        await base.append(id, staged);
        return value;
      },
    };
  }

  it.each([
    ['run.flush()', (run: { flush: () => Promise<void> }) => run.flush()],
    [
      'run.transaction()',
      (run: { transaction: (w: () => Promise<void>) => Promise<void> }) =>
        run.transaction(async () => {}),
    ],
  ])('refuses %s inside its transactional write instead of waiting forever', async (_, call) => {
    const run = await open(transactionalStore());
    const sink: Sink<number> = {
      transactional: true,
      write: async (_items, context) => {
        await call(context.run as never);
      },
    };
    const result = await within(pipeline({ run, source: source(1, 2), sink }));
    expect(result).not.toBe('hung');
    const error = run.unit('u0')?.error;
    expect(error?.message).toContain('inside run.transaction');
    expect(run.unit('u0')).toMatchObject({ status: 'failed', cursor: null });
    await run.close();
  });

  it('may flush from within a plain write', async () => {
    const storage = new MemoryStorage();
    const run = await open(memoryStore(storage), everyUnits(1000));
    const sink: Sink<number> = { write: async (_items, { run }) => run.flush('sink asked') };
    const result = await pipeline({ run, source: source(1, 3), sink });
    expect(result).toMatchObject({ completed: 1, items: 6 });
    expect((await memoryStore(storage).load('job'))?.units['u0']).toMatchObject({ done: 6 });
    await run.close();
  });
});

describe('units a source plans', () => {
  it.each([
    ['null', null],
    ['a number', 5],
  ])('refuses a plan of %s, naming it', async (_, plan) => {
    const run = await open();
    const src: Source<number> = { units: () => [{ key: 'a' }, plan as never], async *read() {} };
    const refusal = await pipeline({ run, source: src, sink: recordingSink() }).catch((e) => e);
    expect(refusal).toBeInstanceOf(CheckpointError);
    expect(refusal).toBeInstanceOf(ContractError);
    expect(String(refusal.message)).toMatch(
      /^source\.units yielded (null|a number), not a key or \{ key, total \}$/,
    );
    expect(run.checkpoint.units).toEqual({});
    await run.close();
  });

  it('works a unit planned twice once', async () => {
    const run = await open();
    const sink = recordingSink();
    const src = source(1, 2);
    const twice: Source<number> = { ...src, units: () => [{ key: 'u0' }, { key: 'u0' }] };
    const result = await pipeline({ run, source: twice, sink });
    expect(result).toMatchObject({ completed: 1, pages: 2 });
    expect(sink.state.written).toEqual([0, 1, 10, 11]);
    await run.close();
  });
});

describe('errors of their own', () => {
  it('are ContractErrors naming the part', async () => {
    const run = await open();
    const events: unknown[] = [];
    await pipeline({
      run,
      source: source(1, 1, () => ({ items: 'x', cursor: 1 })),
      sink: recordingSink(),
      onProgress: (event) => {
        if (event.type === 'unit-failed') events.push(event.message);
      },
    });
    expect(events).toEqual([
      'source.read for unit "u0" yielded a page whose items is a string, not an array',
    ]);
    expect(new ContractError('sink.write', 'u', 'x')).toBeInstanceOf(CheckpointError);
    await run.close();
  });
});

describe('an onProgress listener that throws', () => {
  it.each([
    [
      'throws',
      () => {
        throw new Error('progress bar broke');
      },
    ],
    [
      'rejects',
      async () => {
        throw new Error('progress bar broke');
      },
    ],
  ])(
    'stops the pipeline with its error when it %s, and leaves the units as they were',
    async (_, fail) => {
      const storage = new MemoryStorage();
      const run = await open(memoryStore(storage), everyUnits(1000));
      const sink = recordingSink();
      const refusal = await pipeline({
        run,
        source: source(3, 2),
        sink,
        concurrency: 2,
        onProgress: (event) =>
          event.type === 'unit-completed' && event.key === 'u0' ? fail() : undefined,
      }).catch((error: unknown) => error);
      expect(refusal).toMatchObject({ message: 'progress bar broke' });
      // u0 was done: the listener's error does not turn it into a failure to redo.
      expect(run.unit('u0')).toMatchObject({ status: 'complete', done: 4 });
      expect(Object.values(run.checkpoint.units).filter((u) => u.status === 'failed')).toEqual([]);
      // What the units did is saved, as after an abort.
      expect(run.unsaved).toBe(0);
      expect((await memoryStore(storage).load('job'))?.units['u0']?.status).toBe('complete');
      for (let i = 0; i < 20; i++) await tick();
      expect(sink.state.afterClose).toBe(0);
      await run.close();
    },
  );
});

describe('a sink whose close() throws', () => {
  it('does not hide the error that stopped the pipeline', async () => {
    const run = await open();
    const lost = new Error('store unreachable');
    Object.assign(lost, { storeUnavailable: true });
    const sink: Sink<number> = {
      write: () => {
        throw lost;
      },
      close: () => {
        throw new Error('close failed');
      },
    };
    await expect(pipeline({ run, source: source(1, 2), sink })).rejects.toBe(lost);
    await run.close();
  });

  it('rejects with its error when the pipeline itself went well', async () => {
    const run = await open();
    const sink: Sink<number> = {
      write: () => undefined,
      close: () => {
        throw new Error('close failed');
      },
    };
    await expect(pipeline({ run, source: source(1, 2), sink })).rejects.toThrow('close failed');
    await run.close();
  });
});

describe('two pipelines on one run', () => {
  it('refuses the second while the first runs, instead of both writing every unit', async () => {
    const run = await open();
    const sink = recordingSink();
    const first = pipeline({ run, source: source(2, 3), sink });
    const second = await pipeline({ run, source: source(2, 3), sink }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(OptionsError);
    expect((second as Error).message).toContain(
      'pipeline: option "run" is already driven by another pipeline()',
    );
    await first;
    expect(sink.state.written).toHaveLength(12);
    // Once the first settled, the run takes another.
    await expect(pipeline({ run, source: source(2, 3), sink })).resolves.toMatchObject({
      completed: 0,
    });
    await run.close();
  });
});
