import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** json-server 0.17's (untyped, CommonJS) API, the parts used here. */
interface JsonServer {
  create(): {
    use(handler: unknown): void;
    listen(port: number, host: string, done: () => void): Server;
  };
  router(db: object): unknown;
  defaults(options: { logger: boolean }): unknown[];
}

/**
 * A demo API when no API_URL is given: json-server (from npm) on 127.0.0.1 with 60 posts and 3
 * comments each, paged with `_page`/`_limit` and Link headers, like many real APIs. Its port must
 * stay the same across runs: the saved cursors are the API's own next-page URLs.
 */
export async function demoApi(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const jsonServer = createRequire(import.meta.url)('json-server') as JsonServer;
  const posts = Array.from({ length: 60 }, (_, i) => ({ id: i + 1, title: `post ${i + 1}` }));
  const comments = posts.flatMap((post) =>
    [1, 2, 3].map((n) => ({ id: post.id * 10 + n, postId: post.id, body: `comment ${n}` })),
  );
  const app = jsonServer.create();
  for (const handler of jsonServer.defaults({ logger: false })) app.use(handler);
  app.use(jsonServer.router({ posts, comments }));
  const server = await new Promise<Server>((resolve) => {
    const started: Server = app.listen(port, '127.0.0.1', () => resolve(started));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** For the demo and its test: stops the pipeline after `limit` pages, as Ctrl+C would. */
export function stopAfterPages(limit: number): {
  signal: AbortSignal;
  onProgress: (event: { type: string }) => void;
} {
  const stop = new AbortController();
  let pages = 0;
  return {
    signal: stop.signal,
    onProgress: (event) => {
      if (event.type === 'page' && ++pages >= limit) stop.abort();
    },
  };
}
