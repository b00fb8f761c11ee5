import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** The parts of json-server 0.17's (untyped, CommonJS) API these tests use. */
interface JsonServerModule {
  create(): {
    use(handler: unknown): void;
    listen(port: number, host: string, done: () => void): Server;
  };
  router(db: object): unknown;
  defaults(options: { logger: boolean }): unknown[];
}

/** json-server from npm on 127.0.0.1, serving `db` from memory (never written to a file). */
export async function startJsonServer(
  db: object,
): Promise<{ url: string; close(): Promise<void> }> {
  const jsonServer = createRequire(import.meta.url)('json-server') as JsonServerModule;
  const app = jsonServer.create();
  for (const handler of jsonServer.defaults({ logger: false })) app.use(handler);
  app.use(jsonServer.router(db));
  const server = await new Promise<Server>((resolve) => {
    const started: Server = app.listen(0, '127.0.0.1', () => resolve(started));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Posts in the fixture database. */
export const POSTS = 23;

/** The tests' database: 23 posts, two comments each. */
export const postsDb = () => ({
  posts: Array.from({ length: POSTS }, (_, i) => ({ id: i + 1, title: `post ${i + 1}` })),
  comments: Array.from({ length: POSTS * 2 }, (_, i) => ({
    id: i + 1,
    postId: (i % POSTS) + 1,
    body: `comment ${i + 1}`,
  })),
});
