import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP server on 127.0.0.1 in front of `target`: each client gets a connection of its own to
 * the target, which `pipe` wires to it (a proxy's own part); either one closing closes both.
 * `accepts` may refuse new clients (the server looks down).
 */
async function proxyServer(
  target: string,
  pipe: (client: Socket, upstream: Socket) => void,
  accepts: () => boolean = () => true,
  /** A server side to leave open when its client closes (its owner closes it later). */
  keeps: (upstream: Socket) => boolean = () => false,
): Promise<{ url: string; close(): Promise<void> }> {
  const url = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!accepts()) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(url.port), url.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      if (!keeps(upstream)) upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
    pipe(client, upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const proxied = new URL(target);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(typeof address === 'object' && address ? address.port : 0);
  return {
    url: proxied.toString(),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP proxy in front of the test server that can lose a COMMIT's reply: once armed, it lets
 * the next COMMIT through to the server, then drops the answer and closes the client's
 * connection. The server has committed; the client cannot know. This is the case a flush must
 * not apply twice when it retries.
 */
export interface CommitCutter {
  /** `postgres://` URL through the proxy. */
  url: string;
  /**
   * Cut the connection that sends the next COMMIT, after the server got it; with `thenRefuse`,
   * refuse new connections from then on (the server looks down) until {@link accept}.
   */
  arm(options?: { thenRefuse?: boolean }): void;
  /** Take new connections again. */
  accept(): void;
  /** How many commits were cut. */
  readonly cuts: number;
  close(): Promise<void>;
}

const COMMIT = Buffer.from('COMMIT\0');

export async function commitCutter(target: string): Promise<CommitCutter> {
  let armed = false;
  let refuseAfterCut = false;
  let refusing = false;
  let cuts = 0;
  const proxy = await proxyServer(
    target,
    (client, upstream) => {
      let committing = false;
      client.on('data', (chunk: Buffer) => {
        if (armed && chunk.includes(COMMIT)) {
          armed = false;
          committing = true;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (committing) {
          cuts += 1;
          if (refuseAfterCut) refusing = true;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
    },
    () => !refusing,
  );
  return {
    url: proxy.url,
    arm(options = {}) {
      armed = true;
      refuseAfterCut = options.thenRefuse === true;
    },
    accept() {
      refusing = false;
      refuseAfterCut = false;
    },
    get cuts() {
      return cuts;
    },
    close: proxy.close,
  };
}

/**
 * A TCP proxy in front of the test server that ends every connection at once, the way
 * `pg_terminate_backend` over all of a store's backends or a server shutdown does, at chosen
 * points: right after the server said it is ready for the next statement on one connection.
 * Each connection gets `FATAL 57P01` and is closed; the one at the chosen point gets it in the
 * same packet as "ready", so the client reads both at once and the error arrives while no
 * statement runs on it (between two statements of one piece of work, or in the pool).
 */
export interface Terminator {
  /** `postgres://` URL through the proxy. */
  url: string;
  /**
   * Counts "ready for query" messages from now, over all connections, and ends all
   * connections at each of the given ones (1 is the next).
   */
  arm(at: Iterable<number>, options?: { keepServerSide?: boolean }): void;
  /** "Ready for query" messages since the last {@link arm}. */
  readonly ready: number;
  /** Connections ended since the last {@link arm}. */
  readonly ended: number;
  /** Connections the proxy accepted, in all. */
  readonly connections: number;
  /**
   * Closes the server sides that `keepServerSide` kept open: until then their backends live on
   * (with their locks), as a backend does until it notices that its client went away.
   */
  releaseServerSides(): void;
  close(): Promise<void>;
}

/** The ErrorResponse a backend sends when it is terminated (SQLSTATE 57P01). */
function adminShutdown(): Buffer {
  const field = (code: string, value: string) => Buffer.from(`${code}${value}\0`);
  const body = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', '57P01'),
    field('M', 'terminating connection due to administrator command'),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write('E', 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

interface Link {
  /** Ends the connection after the whole messages passed so far (and `head`, if given). */
  terminate(head?: Buffer): void;
}

export async function terminator(target: string): Promise<Terminator> {
  const links = new Set<Link>();
  let at = new Set<number>();
  let ready = 0;
  let ended = 0;
  let connections = 0;
  let keepServerSide = false;
  const kept = new Set<Socket>();
  const terminateAll = (first: Link, head: Buffer) => {
    first.terminate(head);
    for (const link of [...links]) if (link !== first) link.terminate();
  };
  const proxy = await proxyServer(
    target,
    (client, upstream) => {
      // Server messages: a type byte and a length that counts itself, then the body. Whole
      // messages are passed on; a message split over packets waits for its rest, so a FATAL
      // written in between never lands inside another message.
      let pending: Buffer = Buffer.alloc(0);
      connections += 1;
      const link: Link = {
        terminate(head = Buffer.alloc(0)) {
          links.delete(link);
          ended += 1;
          client.end(Buffer.concat([head, adminShutdown()]));
          if (keepServerSide) kept.add(upstream);
          else upstream.destroy();
          pending = Buffer.alloc(0);
        },
      };

      links.add(link);
      client.on('close', () => links.delete(link));
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        let offset = 0;
        while (pending.length - offset >= 5) {
          const end = offset + 1 + pending.readInt32BE(offset + 1);
          if (end > pending.length) break;
          const type = pending[offset];
          offset = end;
          if (type === 0x5a /* Z */ && at.has(++ready)) {
            terminateAll(link, pending.subarray(0, offset));
            return;
          }
        }
        if (offset > 0) client.write(pending.subarray(0, offset));
        pending = pending.subarray(offset);
      });
    },
    undefined,
    (upstream) => kept.has(upstream),
  );
  return {
    url: proxy.url,
    arm(steps, options = {}) {
      at = new Set(steps);
      ready = 0;
      ended = 0;
      keepServerSide = options.keepServerSide === true;
    },
    get connections() {
      return connections;
    },
    releaseServerSides() {
      for (const socket of kept) socket.destroy();
      kept.clear();
    },
    get ready() {
      return ready;
    },
    get ended() {
      return ended;
    },
    close: proxy.close,
  };
}
