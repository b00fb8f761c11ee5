import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a scripted server saw it. */
export interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
}

/**
 * A server on 127.0.0.1 that answers every request with `handler` (replaceable between tests)
 * and logs each one, headers included, to check what reached it. The hostile tests start two of
 * them to have two origins (another port is another origin).
 */
export interface Scripted {
  url: string;
  seen: Seen[];
  handler: (request: IncomingMessage, response: ServerResponse, n: number) => void;
  close(): Promise<void>;
}

export async function startScripted(handler: Scripted['handler'] = () => {}): Promise<Scripted> {
  const scripted: Scripted = {
    url: '',
    seen: [],
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((request, response) => {
    scripted.seen.push({ url: request.url ?? '', headers: request.headers });
    scripted.handler(request, response, scripted.seen.length);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  scripted.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return scripted;
}
