import { connect, createServer, type Server, type Socket } from 'node:net';

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
  const url = new URL(target);
  const sockets = new Set<Socket>();
  let armed = false;
  let refuseAfterCut = false;
  let refusing = false;
  let cuts = 0;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(url.port), url.hostname);
    sockets.add(client);
    sockets.add(upstream);
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
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const proxied = new URL(target);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return {
    url: proxied.toString(),
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
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
