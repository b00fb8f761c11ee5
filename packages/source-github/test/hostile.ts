import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MemoryStorage,
  memoryStore,
  openRun,
  type PipelineResult,
  pipeline,
  type Run,
} from '@checkpointkit/core';
import { afterEach } from 'vitest';
import { type GithubSourceOptions, githubSource } from '../src/index.js';
import { memoryLog, recordingSink } from './helpers.js';

/** A request a hostile server received. */
export interface Received {
  path: string;
  authorization: string | undefined;
}

export interface HostileServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

export type Handler = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
) => void | Promise<void>;

/** A server on 127.0.0.1 that answers as `handle` says, and keeps every request it got. */
export async function hostileServer(handle: Handler): Promise<HostileServer> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    received.push({ path, authorization: request.headers.authorization });
    Promise.resolve(handle(request, response, path)).catch((error: unknown) => {
      response.destroy(error as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * `start(handler)` for a test file: a {@link hostileServer} that is closed after each test.
 * Call at the top level of the file.
 */
export function hostileServers(): (handle: Handler) => Promise<HostileServer> {
  const servers: HostileServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  return async (handle) => {
    const server = await hostileServer(handle);
    servers.push(server);
    return server;
  };
}

/** Answers with a JSON body (or `text` as given) and headers. */
export function reply(
  response: ServerResponse,
  body: unknown,
  headers: Record<string, string> = {},
  status = 200,
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/html' : 'application/json; charset=utf-8',
    ...headers,
  });
  response.end(text);
}

export const HOSTILE_TOKEN = 'ghp_HOSTILE0CANARY0token0source0github00';

/** One collection against a hostile server; everything the run wrote is kept in `storage`. */
export async function collectFrom(
  baseUrl: string,
  source: Partial<GithubSourceOptions>,
  storage = new MemoryStorage(),
): Promise<{
  result: PipelineResult;
  run: Run;
  storage: MemoryStorage;
  log: ReturnType<typeof memoryLog>;
  sink: ReturnType<typeof recordingSink>;
  source: ReturnType<typeof githubSource>;
}> {
  const run = await openRun({ id: 'hostile', store: memoryStore(storage), signals: false });
  const log = memoryLog();
  const gh = githubSource({
    auth: HOSTILE_TOKEN,
    baseUrl,
    retryAfterBaseMs: 1,
    log,
    endpoints: ['issues'],
    repos: ['acme/api'],
    perPage: 2,
    ...source,
  } as GithubSourceOptions);
  const sink = recordingSink();
  const result = await pipeline({ run, source: gh, sink, signal: gh.signal });
  await run.close();
  return { result, run, storage, log, sink, source: gh };
}

/** Everything the store ever received (every change appended), as text. */
export const everythingStored = (storage: MemoryStorage) => JSON.stringify([...storage.entries]);

/** The repository lookup every `repos` collection starts with. */
export const REPOSITORY = { id: 1, full_name: 'acme/api', updated_at: '2024-01-01T00:00:00Z' };

export const issue = (id: number) => ({
  id,
  number: id,
  updated_at: `2024-01-${String(10 - (id % 9)).padStart(2, '0')}T00:00:00Z`,
});
