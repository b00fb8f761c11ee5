import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectApi } from '../src/rest-api-collect.js';
import { tempDir } from './helpers.js';

interface JsonServer {
  create(): {
    use(handler: unknown): void;
    listen(port: number, host: string, done: () => void): Server;
  };
  router(db: object): unknown;
  defaults(options: { logger: boolean }): unknown[];
}

const stop = new AbortController();
let stopOn: string | undefined;

describe('recipe: a REST API into JSON Lines (json-server from npm)', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    const jsonServer = createRequire(import.meta.url)('json-server') as JsonServer;
    const users = Array.from({ length: 30 }, (_, i) => ({ id: i + 1, name: `user ${i + 1}` }));
    const todos = users.flatMap((u) => [1, 2].map((n) => ({ id: u.id * 10 + n, userId: u.id })));
    const posts = Array.from({ length: 60 }, (_, i) => ({ id: i + 1 }));
    const app = jsonServer.create();
    for (const handler of jsonServer.defaults({ logger: false })) app.use(handler);
    app.use((request: { url: string }, _response: unknown, next: () => void) => {
      if (request.url === stopOn) stop.abort();
      next();
    });
    app.use(jsonServer.router({ users, todos, posts }));
    server = await new Promise<Server>((resolve) => {
      const started: Server = app.listen(0, '127.0.0.1', () => resolve(started));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('stopped during a page and run again, it writes every record once', async () => {
    const dir = await tempDir('rest-api');
    const out = join(dir, 'records.jsonl');
    // Stopped while the second page of users is in flight, as Ctrl+C would: by an event, not a time.
    stopOn = '/users?_start=25&_limit=25';
    const first = await collectApi(baseUrl, dir, stop.signal);
    expect(first.aborted).toBe(true);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(25);
    const second = await collectApi(baseUrl, dir);
    expect(second.aborted).toBe(false);
    const keys = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { resource: string; data: { id: number } })
      .map((r) => `${r.resource}:${r.data.id}`);
    expect(keys).toHaveLength(30 + 60 + 60);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
