import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CheckpointStore,
  type MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Sink,
  type Source,
} from '@checkpointkit/core';
import { jsonLinesSink } from '../../src/index.js';

/** The kill test's job: units, pages per unit, rows per page. */
export const UNITS = 5;
export const PAGES = 40;
export const SIZE = 4;

/** An item of {@link numberedSource}: text with quotes, commas and non-ASCII, to test encodings. */
export interface Row {
  unit: string;
  n: number;
  text: string;
}

/**
 * `units` units (`u0`, `u1`, ...), each `pages` pages of `size` rows; the cursor is the next page
 * number. Rows are derived from their position, so a resumed run reads what an uninterrupted one
 * would. `pause` runs before each page (a setImmediate by default, so units interleave).
 */
export function numberedSource(
  units: number,
  pages: number,
  size = 3,
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Source<Row> {
  return {
    units: () => Array.from({ length: units }, (_, i) => ({ key: `u${i}`, total: pages * size })),
    async *read({ key, cursor }, signal) {
      for (let page = (cursor as number | null) ?? 0; page < pages; page++) {
        await pause();
        if (signal.aborted) return;
        const items = Array.from({ length: size }, (_, i) => {
          const n = page * size + i;
          return { unit: key, n, text: `"${key}", row ${n}: é ${'x'.repeat(n % 7)}` };
        });
        yield { items, cursor: page + 1 };
      }
    },
  };
}

const dirs: string[] = [];

export async function tempDir(prefix = 'ck-sink-file-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

/**
 * A memory store over `storage` that refuses every append once `kill()` is called: what a job
 * killed with SIGKILL leaves, the flushes before it acknowledged and nothing after.
 */
export function killableStore(storage: MemoryStorage): { store: CheckpointStore; kill(): void } {
  const inner = memoryStore(storage);
  let dead = false;
  return {
    store: {
      ...inner,
      append: (id, changes) =>
        dead ? Promise.reject(new Error('killed')) : inner.append(id, changes),
    },
    kill: () => {
      dead = true;
    },
  };
}

/** Two sinks written as one, as a job that writes JSON and CSV side by side does. */
export function bothSinks(first: Sink<Row>, second: Sink<Row>): Sink<Row> {
  return {
    open: async (context) => {
      await first.open?.(context);
      await second.open?.(context);
    },
    write: async (items, context) => {
      const a = await first.write(items, context);
      const b = await second.write(items, context);
      return { meta: { ...a?.meta, ...b?.meta } };
    },
    close: async () => {
      await first.close?.();
      await second.close?.();
    },
  };
}

/** Runs 2 units of 5 pages into `path`, saving every page, and dies after `pages` pages. */
export async function crashAfter(
  storage: MemoryStorage,
  path: string,
  pages: number,
  maxBytes?: number,
) {
  const { store, kill } = killableStore(storage);
  const run = await openRun({ id: 'job', store, signals: false });
  const stop = new AbortController();
  let seen = 0;
  await pipeline({
    run,
    source: numberedSource(2, 5),
    sink: jsonLinesSink<Row>({ path, maxBytes }),
    signal: stop.signal,
    onProgress: async (event) => {
      if (event.type === 'page' && ++seen === pages) {
        await run.flush();
        kill();
        stop.abort();
      }
    },
  }).catch(() => {});
  await run.abandon();
}
