// A whole REST API into JSON Lines, resumable at the page: posts, and each post's comments.
import {
  anyOf,
  DEFAULT_STRATEGY,
  formatFailures,
  onRateLimit,
  openRun,
  pipeline,
} from '@checkpointkit/core';
import { jsonLinesSink } from '@checkpointkit/sink-file';
import { type HttpRecord, httpSource, linkHeader } from '@checkpointkit/source-http';
import { fileStore } from '@checkpointkit/storage-file';
import { demoApi, stopAfterPages } from './demo-api.js';

const api = process.env.API_URL
  ? { url: process.env.API_URL, close: async () => {} }
  : await demoApi(Number(process.env.DEMO_PORT ?? 3917));
const token = process.env.API_TOKEN;
const source = httpSource({
  baseUrl: api.url,
  ...(token && { auth: { type: 'bearer' as const, token } }),
  paginator: linkHeader(),
  resources: [
    {
      name: 'posts',
      path: '/posts',
      params: { _page: 1, _limit: 10 },
      children: [{ name: 'comments', path: '/posts/{id}/comments' }],
    },
  ],
});
// Exactly once: each page's byte offset is saved with its cursor, and a resume cuts the file
// back to the last one saved before it writes.
const sink = jsonLinesSink<HttpRecord>({ path: 'http-output/records.jsonl' });
const run = await openRun({
  id: 'http-collect',
  store: fileStore(),
  config: source.config,
  // Saves after every page (and before the rate limit runs out): a crash costs the page in flight.
  strategy: anyOf(DEFAULT_STRATEGY, onRateLimit(0.2)),
});
const demo = stopAfterPages(Number(process.env.STOP_AFTER_PAGES ?? Number.POSITIVE_INFINITY));
const signal = AbortSignal.any([source.signal, demo.signal]);
const result = await pipeline({ run, source, sink, signal, onProgress: demo.onProgress });
await (result.aborted ? run.close() : run.finish());
await api.close();
const failed = result.failures.count;
console.log(
  `${result.aborted ? 'stopped' : 'done'}: ${result.items} records in ${result.pages} pages` +
    (failed > 0 ? `, ${failed} unit${failed === 1 ? '' : 's'} failed (checkpoint kept)` : ''),
);
// Last words: the failed units with their errors and how to retry them.
const failures = formatFailures(result.failures);
if (failures) console.log(failures);
if (failed > 0) process.exitCode = 1;
