/**
 * The job the operator tests run while a DBA acts on the store's tables (operators*.test.ts):
 * six units of two pages, the DBA's act in the middle, and the pipeline's outcome.
 */
import { pipeline, type Run, type Sink, type Source } from '@checkpointkit/core';

/** Units u0..u5 of two pages each; `during()` runs once, before the first page of u2. */
export function pages(during: () => Promise<unknown>, keys = [0, 1, 2, 3, 4, 5]): Source<number> {
  let ran = false;
  return {
    units: () => keys.map((i) => ({ key: `u${i}` })),
    async *read({ key, cursor }) {
      for (let page = (cursor as number | null) ?? 0; page < 2; page++) {
        if (key === 'u2' && !ran) {
          ran = true;
          await during();
        }
        yield { items: [page], cursor: page + 1 };
      }
    },
  };
}

/** Runs the pipeline: its rejection (or null), the units it failed and the units it wrote. */
export async function work(
  run: Run,
  source: Source<number>,
  options: { claimBatch?: number; concurrency?: number } = {},
) {
  const failed: string[] = [];
  const written = new Set<string>();
  const sink: Sink<number> = {
    async write(_items, { unit }) {
      written.add(unit);
    },
  };
  const error = await pipeline({
    run,
    source,
    sink,
    concurrency: 2,
    ...options,
    onProgress: (event) => {
      if (event.type === 'unit-failed') failed.push(`${event.key}: ${event.message}`);
    },
  }).then(
    () => null,
    (e: unknown) => e,
  );
  return { error, failed, written: [...written].sort() };
}
