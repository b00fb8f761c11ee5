import { describe, expect, it } from 'vitest';
import {
  type Change,
  type CheckpointStore,
  DEFAULT_STRATEGY,
  everyPage,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type SaveContext,
  type Source,
} from '../../src/index.js';

const context = (over: Partial<SaveContext> = {}): SaveContext => ({
  changes: 1,
  units: 0,
  items: 0,
  elapsedMs: 0,
  rateLimit: null,
  pages: 0,
  flushMs: null,
  ...over,
});

describe('everyPage', () => {
  it('saves after every page while a save costs at most the share of the time', () => {
    const strategy = everyPage();
    expect(strategy.decide(context({ pages: 0, elapsedMs: 10_000 })).save).toBe(false);
    expect(strategy.decide(context({ pages: 1 }))).toEqual({
      save: true,
      reason: 'Page: 1 page since last save',
    });
    // A page of 50 ms, a flush of 2 ms: every page.
    expect(strategy.decide(context({ pages: 1, elapsedMs: 50, flushMs: 2 })).save).toBe(true);
  });

  it('waits for 19 flushes of work when pages come faster than that', () => {
    const strategy = everyPage();
    // Flushes of 2 ms: a save once 38 ms of work went by, whatever the number of pages.
    expect(strategy.decide(context({ pages: 5, elapsedMs: 37, flushMs: 2 }))).toEqual({
      save: false,
      reason: 'Page: 5 pages in 37ms of 38ms',
    });
    expect(strategy.decide(context({ pages: 6, elapsedMs: 38, flushMs: 2 }))).toEqual({
      save: true,
      reason: 'Page: 6 pages in 38ms (a save takes ~2ms, at most 5% of the time)',
    });
    expect(
      everyPage({ maxShare: 0.1 }).decide(context({ pages: 2, elapsedMs: 18, flushMs: 2 })).save,
    ).toBe(true);
    expect(
      everyPage({ maxShare: 0.5 }).decide(context({ pages: 2, elapsedMs: 2, flushMs: 2 })).save,
    ).toBe(true);
    expect(() => everyPage({ maxShare: 0 })).toThrow(RangeError);
  });
});

/** `units` units of `pages` pages; each page takes `pageMs` on the run's clock. */
function clockedSource(
  units: number,
  pages: number,
  clock: { ms: number },
  pageMs: number,
): Source<number> {
  return {
    units: () => Array.from({ length: units }, (_, i) => ({ key: `u${i}` })),
    async *read({ cursor }) {
      for (let page = (cursor as number | null) ?? 0; page < pages; page++) {
        clock.ms += pageMs;
        await new Promise((resolve) => setImmediate(resolve));
        yield { items: [page], cursor: page + 1 };
      }
    },
  };
}

function counting(inner: CheckpointStore, delayMs = 0): CheckpointStore & { batches: Change[][] } {
  const batches: Change[][] = [];
  return {
    ...inner,
    batches,
    append: async (id, changes) => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      batches.push([...changes]);
      return inner.append(id, changes);
    },
  };
}

describe('the default strategy', () => {
  it('saves every page of an API-paced source, so a crash redoes at most the page in flight', async () => {
    const clock = { ms: 0 };
    const now = () => new Date(clock.ms);
    const storage = new MemoryStorage();
    const store = counting(memoryStore(storage));
    const run = await openRun({ id: 'job', store, signals: false, now });
    expect(DEFAULT_STRATEGY.description).toContain('every page');
    const stop = new AbortController();
    let pages = 0;
    // One room of 23 pages, as Matrix reads it: a crash after the 17th page.
    await pipeline({
      run,
      source: clockedSource(1, 23, clock, 1000),
      sink: { write: () => undefined },
      signal: stop.signal,
      onProgress: (event) => {
        if (event.type === 'page' && ++pages === 17) stop.abort();
      },
    });
    const saved = store.batches.filter((b) => b.some((c) => c.type === 'unit.progressed'));
    expect(saved).toHaveLength(17);
    await run.abandon();
    const resumed = await openRun({ id: 'job', store: memoryStore(storage), signals: false, now });
    expect(resumed.unit('u0')?.cursor).toBe(17);
    await resumed.close();
  });

  it('saves pages that come faster than a flush about every 19 flushes of work', async () => {
    const clock = { ms: 0 };
    // Flushes of 20 ms or more (real time), pages of 1 ms (on the run's clock): at most a save
    // per 380 pages, plus the saves of finished units and the pipeline's end.
    const store = counting(memoryStore(), 20);
    const run = await openRun({ id: 'job', store, signals: false, now: () => new Date(clock.ms) });
    await pipeline({
      run,
      source: clockedSource(2, 500, clock, 1),
      sink: { write: () => undefined },
    });
    const saves = store.batches.filter((b) => b.some((c) => c.type === 'unit.progressed')).length;
    expect(saves).toBeGreaterThanOrEqual(2);
    expect(saves).toBeLessThanOrEqual(Math.ceil(1000 / 380) + 3);
    await run.close();
  });
});
