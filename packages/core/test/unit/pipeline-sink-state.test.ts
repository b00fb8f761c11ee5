import { describe, expect, it } from 'vitest';
import {
  always,
  type Change,
  type CheckpointStore,
  everyUnits,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Sink,
  type Source,
} from '../../src/index.js';

/** One unit of `pages` pages of one number each; the cursor is the next page number. */
const source = (pages: number): Source<number> => ({
  units: () => [{ key: 'u' }],
  async *read({ cursor }) {
    for (let page = (cursor as number | null) ?? 0; page < pages; page++) {
      yield { items: [page], cursor: page + 1 };
    }
  },
});

/** Records every batch a store acknowledges. */
function recording(inner: CheckpointStore): CheckpointStore & { batches: Change[][] } {
  const batches: Change[][] = [];
  return {
    ...inner,
    batches,
    append: (id, changes) => {
      batches.push([...changes]);
      return inner.append(id, changes);
    },
  };
}

describe('a sink with state of its own', () => {
  it("records the sink's meta with the page's cursor in one flush, even when every change saves", async () => {
    const store = recording(memoryStore());
    const run = await openRun({ id: 'job', store, strategy: always(), signals: false });
    let written = 0;
    const sink: Sink<number> = {
      write: (items) => {
        written += items.length;
        return { meta: { 'sink:offset': written } };
      },
    };
    await pipeline({ run, source: source(4), sink });
    const pages = store.batches.filter((b) => b.some((c) => c.type === 'unit.progressed'));
    expect(pages).toHaveLength(4);
    for (const batch of pages) {
      const progressed = batch.find((c) => c.type === 'unit.progressed');
      const meta = batch.find((c) => c.type === 'meta.set');
      // The offset written with page n is n: both in the same batch, the meta first.
      expect(meta).toMatchObject({
        key: 'sink:offset',
        value: (progressed as { cursor: number }).cursor,
      });
      expect(batch.indexOf(meta as Change)).toBeLessThan(batch.indexOf(progressed as Change));
    }
    expect(run.checkpoint.meta.user['sink:offset']).toBe(4);
    await run.close();
  });

  it('opens the sink before its first write, with the state the last run flushed', async () => {
    const storage = new MemoryStorage();
    // A strategy that never saves on its own: only the explicit flush below does. (The default
    // saves after a page when flushes are cheap, which made this test depend on timing.)
    const first = await openRun({
      id: 'job',
      store: memoryStore(storage),
      strategy: everyUnits(Number.MAX_SAFE_INTEGER),
      signals: false,
    });
    await first.progress('u', { cursor: 2, items: 2, meta: { 'sink:offset': 2 } });
    await first.flush();
    // Recorded after the flush: a crash loses it.
    await first.progress('u', { cursor: 3, items: 1, meta: { 'sink:offset': 3 } });
    await first.abandon();

    const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    const calls: string[] = [];
    const sink: Sink<number> = {
      open: ({ run }) => {
        calls.push(`open at ${String(run.checkpoint.meta.user['sink:offset'])}`);
      },
      write: (items) => {
        calls.push(`write ${items.join(',')}`);
      },
    };
    await pipeline({ run, source: source(4), sink });
    expect(calls).toEqual(['open at 2', 'write 2', 'write 3']);
    await run.close();
  });

  it('refuses the whole page when the store refuses one of its meta entries', async () => {
    const store: CheckpointStore = {
      ...memoryStore(),
      validateChange: (_id, change) => {
        if (change.type === 'meta.set' && change.key === 'bad') throw new Error('refused');
      },
    };
    const run = await openRun({ id: 'job', store, signals: false });
    await expect(
      run.progress('u', { cursor: 1, items: 1, meta: { ok: 1, bad: 2 } }),
    ).rejects.toThrow('refused');
    expect(run.unit('u')).toBeUndefined();
    expect(run.checkpoint.meta.user).toEqual({});
    await run.close();
  });
});
