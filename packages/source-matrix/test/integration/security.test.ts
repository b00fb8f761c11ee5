/**
 * The access token goes in the Authorization header and nowhere else: not in a URL, a checkpoint,
 * a warning, an error message or the source object, even when the server echoes it back.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { MemoryStorage, memoryStore } from '@checkpointkit/core';
import { expect, it } from 'vitest';
import { MatrixConfigError, type MatrixWarning, matrixSource } from '../../src/index.js';
import {
  commentsSink,
  exportAll,
  fakeSleep,
  homeserverPerTest,
  newRoom,
  source,
  TOKEN,
} from '../support/harness.js';

const { serve } = homeserverPerTest();

it('keeps the token out of requests URLs, checkpoints, warnings, errors and the source itself', async () => {
  const room = newRoom('secret');
  for (let i = 0; i < 7; i++) room.message(`m${i}`);
  const failing = newRoom('leaky');
  failing.message('x');
  const fake = await serve(room, failing);
  // A 429 (a retry warning), then a server that echoes the token in its error text (a failure).
  fake.inject({
    match: (r) => r.operation === 'getRoomEvents' && r.params['roomId'] === room.roomId,
    reply: () => ({
      status: 429,
      body: { errcode: 'M_LIMIT_EXCEEDED', error: `slow down ${TOKEN}`, retry_after_ms: 10 },
    }),
  });
  fake.inject({
    match: (r) => r.operation === 'getRoomEvents' && r.params['roomId'] === failing.roomId,
    times: 100,
    reply: () => ({
      status: 403,
      body: { errcode: 'M_FORBIDDEN', error: `token ${TOKEN} may not read this room` },
    }),
  });
  const warnings: MatrixWarning[] = [];
  const storage = new MemoryStorage();
  const src = source(fake, { onWarning: (w) => warnings.push(w), sleep: fakeSleep().sleep });
  const { run, result } = await exportAll(src, commentsSink(), { store: memoryStore(storage) });
  expect(result).toMatchObject({ completed: 1, failed: 1 });
  await run.close();

  const error = run.unit('rooms/#leaky:localhost')?.error?.message ?? '';
  expect(error).toContain('403 M_FORBIDDEN: token <redacted> may not read this room');
  const everything = [
    JSON.stringify([...storage.entries.values()]),
    JSON.stringify(run.checkpoint),
    JSON.stringify(warnings),
    JSON.stringify(src),
    inspect(src, { depth: 10, showHidden: true }),
    fake.requests.map((r) => r.path).join('\n'),
  ].join('\n');
  expect(warnings.length).toBeGreaterThan(0);
  expect(everything).not.toContain(TOKEN);
  expect(everything).not.toContain(TOKEN.slice(4, 20));
  // It did go where it belongs.
  expect(
    new Set(
      fake.requests.filter((r) => r.operation !== 'getRoomIdByAlias').map((r) => r.authorization),
    ),
  ).toEqual(new Set([`Bearer ${TOKEN}`]));
});

it('does not echo a malformed token in the config error', () => {
  const bad = `${TOKEN} trailing`;
  let error: unknown;
  try {
    matrixSource({ homeserverUrl: 'http://127.0.0.1:1', accessToken: bad, rooms: ['#a:b'] });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(MatrixConfigError);
  expect(String(error)).toBe(
    'MatrixConfigError: matrixSource: option "accessToken" must not contain whitespace',
  );
  expect(inspect(error)).not.toContain(TOKEN);
});

it('does not follow a redirect to another address: the room fails naming the homeserverUrl to use', async () => {
  const room = newRoom('moved');
  room.message('x');
  const fake = await serve(room);
  // `http://` where the server wants `https://`, or the server name where the homeserver lives on
  // another host: the web server answers every request with a redirect there.
  const asked: (string | undefined)[] = [];
  const redirecting = createServer((request, response) => {
    asked.push(request.headers.authorization);
    response.writeHead(301, { location: `${fake.url}${request.url}` }).end();
  });
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = redirecting.address() as AddressInfo;
    const src = source(fake, { homeserverUrl: `http://127.0.0.1:${port}` });
    // Before: fetch followed the redirect and dropped the Authorization header on the way (another
    // origin), so the run stopped on "401 M_MISSING_TOKEN ... check the access token".
    const { run, result } = await exportAll(src, commentsSink());
    expect(result).toMatchObject({ failed: 1 });
    expect(run.unit('rooms/#moved:localhost')?.error).toMatchObject({
      retryable: false,
      message: `matrixSource: option "homeserverUrl" http://127.0.0.1:${port} redirects GET /_matrix/client/v3/directory/room/#moved:localhost to ${fake.url}/_matrix/client/v3/directory/room/%23moved%3Alocalhost (301); the access token goes to no other address: set homeserverUrl to ${fake.url}`,
    });
    expect(fake.requests).toEqual([]); // nothing reached the other address
    expect(asked).toEqual([`Bearer ${TOKEN}`]);
  } finally {
    redirecting.closeAllConnections();
    await new Promise((resolve) => redirecting.close(resolve));
  }
});
