/**
 * Seed 001's migration with CheckpointKit: the comments of a site's pages, one Matrix room per page
 * section found by alias, into a comments store (./matrix-migrate-output/comments.jsonl), each
 * reply linked to its parent's new id. Stop it with Ctrl+C (progress is saved, exit 130) and start
 * it again: it resumes at the page it stopped at.
 *
 *   pnpm --filter checkpointkit-example-matrix-migrate start
 *
 * By default it talks to a demo homeserver it starts on 127.0.0.1 (one room replays a recording
 * of a real Synapse 1.67). For a real one set MATRIX_HOMESERVER_URL, MATRIX_ACCESS_TOKEN and
 * MATRIX_ROOMS (aliases, comma separated).
 */
import { join } from 'node:path';
import { formatFailures, openRun, pipeline } from '@checkpointkit/core';
import { matrixSource } from '@checkpointkit/source-matrix';
import { fileStore } from '@checkpointkit/storage-file';
import { CommentsStore } from './comments-store.js';
import { progressBars } from './progress.js';
import { migrationReport, printReport } from './report.js';
import { commentsSink } from './sink.js';
import { DEMO_TOKEN, startDemoHomeserver } from './site.js';
import { toComments } from './transform.js';

const env = process.env;
const started = performance.now();
const output = env['COMMENTS_FILE'] ?? join('matrix-migrate-output', 'comments.jsonl');
const bars = progressBars();

const demo = env['MATRIX_HOMESERVER_URL']
  ? undefined
  : await startDemoHomeserver(Number(env['DEMO_LATENCY_MS'] ?? 120));
if (demo)
  bars.log(`Demo homeserver on ${demo.server.url} (one room replays a Synapse 1.67 recording)`);
const source = matrixSource({
  homeserverUrl: demo?.server.url ?? env['MATRIX_HOMESERVER_URL']!,
  accessToken: demo ? DEMO_TOKEN : (env['MATRIX_ACCESS_TOKEN'] ?? ''),
  rooms: demo?.rooms ?? (env['MATRIX_ROOMS'] ?? '').split(',').filter(Boolean),
  // Small pages, so that a resume at the exact page is easy to watch.
  pageSize: Number(env['MATRIX_PAGE_SIZE'] ?? 4),
  onWarning: (w) => {
    if (w.code === 'retry' || w.code === 'unresolved-reply') bars.log(`  ${w.message}`);
  },
});

const run = await openRun({
  id: 'matrix-migrate',
  store: fileStore(), // CHECKPOINT_DIR, else ./.checkpoints
  // The source's options without the access token, and where the comments go. (The demo server
  // listens on a new port each time: that is not a change of the job.)
  config: {
    source: { ...source.config, homeserverUrl: demo ? 'demo' : source.config.homeserverUrl },
    output,
  },
  // No strategy: the default saves after every page (its cursor, and the new ids the comments
  // store handed out for it) and every room. What a crash costs: the page in flight is read
  // again (one request); the comments store returns the ids it already gave, so no comment is
  // created twice.
});
process.once('SIGINT', () => {
  bars.stop();
  console.error('\nMigration interrupted by user. Progress has been saved. Run again to resume.');
});

if (run.resumed) {
  const s = run.summary();
  bars.log(
    `Resuming migration from checkpoint: ${s.counts.complete} pages already completed, ${s.items.done} comments read`,
  );
} else {
  bars.log('Starting new migration');
}

const store = await CommentsStore.open(output);
const result = await pipeline({
  run,
  source,
  transform: toComments,
  sink: commentsSink(store),
  retryFailed: 'retryable',
  onProgress: bars.update,
});
bars.stop();

// Stopped by Ctrl+C: openRun's handler saves, marks the run interrupted and exits with 130 (the
// SIGINT listener above says so). There is no report of a migration that did not end.
if (!result.aborted) {
  const report = migrationReport(run, source.unresolved(run));
  printReport(report, (performance.now() - started) / 1000, (line) => console.log(line));
  const { deleted } = await run.finish();
  if (report.failedPages === 0 && report.remainingPages === 0) {
    console.log(
      deleted
        ? 'All pages migrated successfully, checkpoint cleared'
        : 'All pages migrated successfully',
    );
  } else {
    console.log(
      `${report.failedPages} pages failed, ${report.remainingPages} pages remaining. Checkpoint preserved for recovery`,
    );
    process.exitCode = 1;
  }
  // Last words: the failures (counts, first errors, how to retry), impossible to miss.
  const failures = formatFailures(result.failures);
  if (failures) console.log(failures);
  if (result.failures.count > 0) process.exitCode = 1;
}
await demo?.server.stop();
