/**
 * HTTP source: the overhead of `httpSource` + `pipeline` (retries, rate-limit headers, JSON
 * pointers, a cursor recorded per page in a memory store) against a bare fetch loop over the
 * same pages of the same server on 127.0.0.1, which only parses each page and follows its cursor;
 * and against the same loop on undici's `request`, the client httpSource uses.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { bodyCursor, httpSource } from '@checkpointkit/source-http';
import { request } from 'undici';
import { report, type Suite } from '../lib.js';

const PAGES = 200;
const SIZE = 100;

/** A cursor-in-body API: `{ data: [...SIZE records], meta: { next_cursor } }`, pages prebuilt. */
async function startApi() {
  const pages = Array.from({ length: PAGES }, (_, p) =>
    JSON.stringify({
      data: Array.from({ length: SIZE }, (_, i) => ({
        id: p * SIZE + i,
        title: `record ${i}`,
        tags: ['a', 'b'],
      })),
      meta: { next_cursor: p + 1 < PAGES ? String(p + 1) : null },
    }),
  );
  const server = createServer((request, response) => {
    const cursor = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('cursor') ?? 0);
    response.writeHead(200, {
      'content-type': 'application/json',
      'x-ratelimit-remaining': '4000',
      'x-ratelimit-limit': '5000',
    });
    response.end(pages[cursor]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Medians of `repeat` alternating timings of `a` and `b`, after a warm-up of each. */
async function interleavedMedians(
  a: () => Promise<void>,
  b: () => Promise<void>,
  repeat: number,
): Promise<[number, number]> {
  await a();
  await b();
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < repeat; i++) {
    for (const [j, fn] of [a, b].entries()) {
      const start = performance.now();
      await fn();
      times[j]?.push(performance.now() - start);
    }
  }
  const median = (values: number[]) =>
    values.sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? 0;
  return [median(times[0]), median(times[1])];
}

const suite: Suite = {
  name: 'source-http',
  async run() {
    const api = await startApi();
    let records = 0;
    const bare = async () => {
      records = 0;
      let url: string | null = `${api.url}/records`;
      while (url) {
        const body = (await (await fetch(url)).json()) as {
          data: unknown[];
          meta: { next_cursor: string | null };
        };
        records += body.data.length;
        const next = body.meta.next_cursor;
        url = next === null ? null : `${api.url}/records?cursor=${next}`;
      }
    };
    let run = 0;
    const ours = async () => {
      const source = httpSource({
        baseUrl: api.url,
        paginator: bodyCursor({ pointer: '/meta/next_cursor', param: 'cursor' }),
        resources: [{ name: 'records', path: '/records', records: '/data' }],
      });
      const checkpoint = await openRun({
        id: `bench-${++run}`,
        store: memoryStore(),
        signals: false,
      });
      records = 0;
      await pipeline({
        run: checkpoint,
        source,
        sink: {
          write: (items) => {
            records += items.length;
          },
        },
        signal: source.signal,
      });
      await checkpoint.finish();
    };
    // The same loop on undici's `request`, the client httpSource is built on: what is left of
    // the overhead once the client is the same.
    const bareUndici = async () => {
      records = 0;
      let url: string | null = `${api.url}/records`;
      while (url) {
        const body = (await (await request(url)).body.json()) as {
          data: unknown[];
          meta: { next_cursor: string | null };
        };
        records += body.data.length;
        const next = body.meta.next_cursor;
        url = next === null ? null : `${api.url}/records?cursor=${next}`;
      }
    };
    // Interleaved, so a load that comes and goes on a shared machine hits both alike.
    const [baseline, subject] = await interleavedMedians(bare, ours, 15);
    if (records !== PAGES * SIZE)
      throw new Error(`source-http bench: ${records} records, expected ${PAGES * SIZE}`);
    const [sameClient, subjectAgain] = await interleavedMedians(bareUndici, ours, 15);
    report({
      what: `a ${PAGES}-page collection (${PAGES * SIZE} records) from a server on 127.0.0.1`,
      subject: { label: 'httpSource + pipeline', value: subject, unit: 'ms' },
      baseline: { label: 'a bare fetch loop', value: baseline, unit: 'ms' },
      kind: 'overhead',
      goal: 1.2,
    });
    report({
      what: 'the same, against a loop on the same client (undici request): the pipeline and source alone',
      subject: { label: 'httpSource + pipeline', value: subjectAgain, unit: 'ms' },
      baseline: { label: "a bare loop on undici's request", value: sameClient, unit: 'ms' },
      kind: 'overhead',
    });
    api.server.closeAllConnections();
    await new Promise<void>((resolve) => api.server.close(() => resolve()));
  },
};

export default suite;
