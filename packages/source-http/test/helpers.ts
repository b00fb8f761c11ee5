import {
  always,
  type CheckpointStore,
  memoryStore,
  openRun,
  type PipelineResult,
  pipeline,
  type Run,
  type SaveStrategy,
} from '@checkpointkit/core';
import {
  type HttpRecord,
  type HttpSource,
  type HttpSourceOptions,
  httpSource,
} from '../src/index.js';

/** Runs a source to its end into an array, on a memory store unless given one. */
export async function collect(
  options: HttpSourceOptions,
  store: CheckpointStore = memoryStore(),
  id = 'http-test',
  strategy: SaveStrategy = always(),
): Promise<{ records: HttpRecord[]; result: PipelineResult; run: Run; source: HttpSource }> {
  const source = httpSource(options);
  const run = await openRun({ id, store, config: source.config, strategy, signals: false });
  const records: HttpRecord[] = [];
  const result = await pipeline({
    run,
    source,
    sink: { write: (items) => void records.push(...items) },
    signal: source.signal,
  });
  return { records, result, run, source };
}
