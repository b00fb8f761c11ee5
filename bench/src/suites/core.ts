/**
 * Core: what a flush costs on a huge checkpoint, and what checkpointing adds to a pipeline.
 * Store: core's memory store (the file and PostgreSQL stores have suites of their own).
 */
import {
  MemoryStorage,
  memoryStore,
  openRun,
  type Page,
  pipeline,
  type Sink,
  type Source,
} from '@checkpointkit/core';
import { hugeCheckpoint, MAPPINGS, UNITS } from '../huge.js';
import { report, type Suite, timeMedian, timeMedians } from '../lib.js';

async function flushCost(): Promise<void> {
  const storage = new MemoryStorage();
  const checkpoint = hugeCheckpoint('bench:huge');
  storage.entries.set(checkpoint.id, { snapshot: checkpoint, log: [] });
  const run = await openRun({ id: checkpoint.id, store: memoryStore(storage), signals: false });
  const keys = run.pending().slice(0, 2000);
  let next = 0;
  const flushes = 1000;
  const perFlush =
    (await timeMedian(async () => {
      for (let i = 0; i < flushes; i++) {
        await run.complete(keys[next++ % keys.length]!);
        await run.flush('bench');
      }
    }, 3)) / flushes;
  await run.abandon();

  // The seeds' design: serialize the whole document on every save.
  const whole = await timeMedian(() => JSON.stringify(checkpoint), 3);
  report({
    what: `flush of one change, ${UNITS.toLocaleString('en')} units + ${MAPPINGS.toLocaleString('en')} id mappings (memory store)`,
    subject: { label: 'CheckpointKit flush (change log)', value: perFlush, unit: 'ms' },
    baseline: {
      label: "seeds' design (JSON.stringify of the whole document)",
      value: whole,
      unit: 'ms',
    },
    kind: 'cheaper',
    goal: 200,
  });
}

const PAGES = 10_000;
const PAGE_SIZE = 100;
const UNITS_FOR_PAGES = 100;

/** Spends about `us` microseconds of CPU, as a sink that formats and writes a page would. */
function spin(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {}
}

function pages(unit: number, from: number): Page<number>[] {
  const perUnit = PAGES / UNITS_FOR_PAGES;
  return Array.from({ length: perUnit - from }, (_, i) => ({
    items: Array.from({ length: PAGE_SIZE }, (_, j) => unit * 1e6 + (from + i) * PAGE_SIZE + j),
    cursor: from + i + 1,
  }));
}

async function pipelineOverhead(): Promise<void> {
  let sunk = 0;
  const sink: Sink<number> = {
    write(items) {
      spin(100);
      sunk += items.length;
      return undefined;
    },
  };
  const source: Source<number> = {
    units: () => Array.from({ length: UNITS_FOR_PAGES }, (_, i) => ({ key: `unit-${i}` })),
    async *read({ key, cursor }) {
      yield* pages(Number(key.slice(5)), (cursor as number | null) ?? 0);
    },
  };

  const bare = async () => {
    for (let unit = 0; unit < UNITS_FOR_PAGES; unit++) {
      for await (const page of source.read(
        { key: `unit-${unit}`, cursor: null },
        new AbortController().signal,
      )) {
        await sink.write(page.items, undefined as never);
      }
    }
  };
  const checkpointed = async () => {
    const run = await openRun({ id: 'bench:pipeline', store: memoryStore(), signals: false });
    await pipeline({ run, source, sink });
    await run.finish();
  };
  const times = await timeMedians(checkpointed, bare);
  if (sunk !== PAGES * PAGE_SIZE * 16) throw new Error(`sink saw ${sunk} items`);
  report({
    what: `pipeline of ${PAGES.toLocaleString('en')} pages x ${PAGE_SIZE} items, sink ~100 us a page`,
    subject: {
      label: 'pipeline() with checkpointing (default strategy, memory store)',
      value: times.subject,
      unit: 'ms',
    },
    baseline: { label: 'the same loop without checkpointing', value: times.baseline, unit: 'ms' },
    kind: 'overhead',
    goal: 1.1,
  });
}

const suite: Suite = {
  name: 'core',
  async run() {
    await flushCost();
    await pipelineOverhead();
  },
};
export default suite;
