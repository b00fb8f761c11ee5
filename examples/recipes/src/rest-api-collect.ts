// Recipe: a whole paginated REST API into JSON Lines, resumable at the page (docs/recipes/rest-api-collect.md).
import { appendFile } from 'node:fs/promises';
import { anyOf, everyUnits, onRateLimit, openRun, pipeline } from '@checkpointkit/core';
import { httpSource, offsetLimit } from '@checkpointkit/source-http';
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
  // sink-file: replace with jsonLinesSink<HttpRecord>({ path: `${dir}/records.jsonl` })
  const sink = {
    write: (records: readonly object[]) =>
      appendFile(`${dir}/records.jsonl`, records.map((r) => `${JSON.stringify(r)}\n`).join('')),
  };
  const run = await openRun({
    id: 'rest-api',
    store: fileStore({ dir }),
    config: source.config,
    strategy: anyOf(everyUnits(1), onRateLimit(0.2)),
  });
  const signal = stop ? AbortSignal.any([source.signal, stop]) : source.signal;
  const result = await pipeline({ run, source, sink, signal });
  await (result.aborted ? run.close() : run.finish());
  return result;
}
