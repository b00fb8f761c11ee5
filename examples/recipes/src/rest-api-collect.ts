// Recipe: a whole paginated REST API into JSON Lines, resumable at the page (docs/recipes/rest-api-collect.md).
import { anyOf, DEFAULT_STRATEGY, onRateLimit, openRun, pipeline } from '@checkpointkit/core';
import { jsonLinesSink } from '@checkpointkit/sink-file';
import { type HttpRecord, httpSource, offsetLimit } from '@checkpointkit/source-http';
import { fileStore } from '@checkpointkit/storage-file';

/** `stop` is how a caller (a test, a UI) stops it after the page in flight, as Ctrl+C would. */
export async function collectApi(baseUrl: string, dir: string, stop?: AbortSignal) {
  const key = process.env.API_KEY;
  const source = httpSource({
    baseUrl,
    ...(key && { auth: { type: 'header' as const, name: 'x-api-key', value: key } }),
    paginator: offsetLimit({ limit: 25, offsetParam: '_start', limitParam: '_limit' }),
    resources: [
      { name: 'users', path: '/users', children: [{ name: 'todos', path: '/users/{id}/todos' }] },
      { name: 'posts', path: '/posts' },
    ],
  });
  // Exactly once: each page's byte offset is saved with its cursor; a resume cuts back to it.
  const sink = jsonLinesSink<HttpRecord>({ path: `${dir}/records.jsonl` });
  const run = await openRun({
    id: 'rest-api',
    store: fileStore({ dir }),
    config: source.config,
    // Every page (and before the rate limit runs out): a crash costs the page in flight.
    strategy: anyOf(DEFAULT_STRATEGY, onRateLimit(0.2)),
  });
  const signal = stop ? AbortSignal.any([source.signal, stop]) : source.signal;
  const result = await pipeline({ run, source, sink, signal });
  await (result.aborted ? run.close() : run.finish());
  return result;
}
