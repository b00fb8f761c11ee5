import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An API that puts an opaque cursor in the body (`{ data, meta: { next_cursor } }`), as many
 * SaaS APIs do; json-server and GitHub do not, so this strategy needs a server of our own.
 * `/posts` holds `posts` posts (`size` a page); `/posts/{id}/comments` two comments each. Every
 * request is logged; `script` answers chosen requests differently (errors, bad bodies).
 */
export interface CursorApi {
  url: string;
  /** Each request's path and query, in order (credentials included, to check where they went). */
  requests: { url: string; headers: IncomingMessage['headers'] }[];
  /** Answers a request instead of the API when it returns true. */
  script: ((request: IncomingMessage, response: ServerResponse, n: number) => boolean) | undefined;
  close(): Promise<void>;
}

export async function startCursorApi(options: { posts: number; size: number }): Promise<CursorApi> {
  const api: CursorApi = {
    url: '',
    requests: [],
    script: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((request, response) => {
    api.requests.push({ url: request.url ?? '', headers: request.headers });
    if (api.script?.(request, response, api.requests.length)) return;
    const url = new URL(request.url ?? '/', 'http://x');
    const comments = /^\/posts\/(\d+)\/comments$/.exec(url.pathname);
    if (comments) {
      const post = Number(comments[1]);
      return json(response, {
        data: [1, 2].map((n) => ({ id: `${post}.${n}`, postId: post })),
        meta: { next_cursor: null },
      });
    }
    if (url.pathname !== '/posts') return json(response, { error: 'not found' }, 404);
    // The cursor is opaque to clients: base64 of the next index.
    const cursor = url.searchParams.get('cursor');
    const start = cursor ? Number(Buffer.from(cursor, 'base64url').toString()) : 0;
    const end = Math.min(start + options.size, options.posts);
    const data = [];
    for (let id = start + 1; id <= end; id++) data.push({ id, title: `post ${id}` });
    const next = end < options.posts ? Buffer.from(String(end)).toString('base64url') : null;
    return json(response, { data, meta: { next_cursor: next } }, 200, {
      'ratelimit-policy': '"default";q=100;w=60',
      ratelimit: `"default";r=${Math.max(0, 100 - api.requests.length)};t=30`,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

export function json(
  response: ServerResponse,
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): true {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
  return true;
}
