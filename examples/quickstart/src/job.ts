/**
 * The quickstart job: collects readings from 12 generated stations into ./quickstart-output.
 * Stop it with Ctrl+C (progress is saved, exit 130) and start it again: it resumes where it was.
 *
 *   pnpm --filter checkpointkit-example-quickstart start
 */
import { formatFailures, openRun, pipeline } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { progressBar } from './progress.js';
import { readingsSink } from './sink.js';
import { stationsSource } from './source.js';

const config = {
  stations: Number(process.env['QUICKSTART_STATIONS'] ?? 12),
  pagesPerStation: Number(process.env['QUICKSTART_PAGES'] ?? 10),
  pageSize: 50,
  latencyMs: Number(process.env['QUICKSTART_LATENCY_MS'] ?? 60),
};
const output = process.env['QUICKSTART_OUTPUT'] ?? 'quickstart-output';

const run = await openRun({
  id: 'quickstart:stations',
  store: fileStore(), // CHECKPOINT_DIR, else ./.checkpoints
  config,
  // The default strategy saves after every page (and every finished station). What a crash
  // costs: the page each station had in flight (3 at most, 60 ms each) is read again; the sink
  // writes nothing twice.
});

if (run.resumed) {
  const s = run.summary();
  console.log(
    `Resuming: ${s.counts.complete}/${s.total} stations done, ${s.items.done} readings collected.`,
  );
} else {
  console.log('Starting a new collection. Press Ctrl+C at any time, then run me again.');
}

const bar = progressBar();
const result = await pipeline({
  run,
  source: stationsSource(config),
  sink: readingsSink(output),
  concurrency: 3,
  onProgress: bar.update,
});
bar.stop();

const { summary, deleted } = await run.finish();
console.log(
  `Done: ${summary.counts.complete} stations, ${summary.items.done} readings in ./${output}` +
    (summary.counts.failed > 0 ? `, ${summary.counts.failed} failed (checkpoint kept)` : '') +
    (deleted ? '. Checkpoint deleted.' : '. Checkpoint kept.'),
);
// Last words: the failures (counts, first errors, how to retry), impossible to miss.
const failures = formatFailures(result.failures);
if (failures) console.log(failures);
if (result.failures.count > 0) process.exitCode = 1;
