/**
 * A homeserver that is buggy or hostile: it repeats pages under fresh tokens, echoes the access
 * token in what it sends back, streams a body that does not end, or sends numbers JSON cannot
 * store. Each test is bounded by the requests and bytes it counts, never by the clock.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStorage, memoryStore } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { type MatrixMessage, type MatrixWarning, matrixSource } from '../../src/index.js';
import { FakeRoom } from '../../src/testing/index.js';
import {
  commentsSink,
  countingSink,
  exportAll,
  fakeSleep,
  homeserverPerTest,
  newRoom,
  roomWith,
  source,
  TOKEN,
} from '../support/harness.js';
import type { RequestInfo } from '../support/homeserver.js';

const { serve } = homeserverPerTest({ legacyForwardWithoutFrom: false });

const messages = (r: RequestInfo) => r.operation === 'getRoomEvents';

describe('a server that repeats a page under a fresh token', () => {
  /** Answers each page again and again, each time with a token never seen before. */
  function stuck(fake: Awaited<ReturnType<typeof serve>>, room: FakeRoom, times: number) {
    let k = 0;
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      times,
      reply: (r, normal) => {
        const reply = normal();
        const at = room.positionOf(r.params['from']!)!;
        (reply.body as { end?: string }).end = room.aliasToken(at, `again${++k}`);
        return reply;
      },
    });
  }

  it('delivers no event twice, and goes on when the server gets past it', async () => {
    const room = roomWith('stutter', 12);
    const fake = await serve(room);
    stuck(fake, room, 3);
    const counting = countingSink();
    const warnings: MatrixWarning[] = [];
    const { result } = await exportAll(
      source(fake, { pageSize: 4, onWarning: (w) => warnings.push(w) }),
      counting,
    );
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect(counting.deliveries.size).toBe(12);
    expect([...counting.deliveries.values()].every((n) => n === 1)).toBe(true);
    expect(warnings.filter((w) => w.code === 'repeated-events')).toHaveLength(3);
  });

  it('fails the room after maxEmptyPages pages with nothing new, instead of looping', async () => {
    const room = roomWith('treadmill', 12);
    const fake = await serve(room);
    stuck(fake, room, 1000);
    const counting = countingSink();
    const { run, result } = await exportAll(
      source(fake, { pageSize: 4, maxEmptyPages: 3 }),
      counting,
    );
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(run.unit('rooms/#treadmill:localhost')?.error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/4 pages in a row with no new event \(maxEmptyPages 3\)/),
    });
    // The first page, the page after it, and the 4 repeats of that page.
    expect(fake.messageRequests()).toHaveLength(6);
    expect([...counting.deliveries.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('a server that echoes the access token', () => {
  it('never lets it into the checkpoint, a warning or an error: not in a token, an event id or a held reply', async () => {
    const room = newRoom('echo');
    const parent = room.message(`my token is ${TOKEN}, oops`);
    room.reply(parent, `never paste ${TOKEN} again`);
    room.raw('m.room.message', { msgtype: 'm.text', body: 'no id' });
    for (let i = 0; i < 3; i++) room.message(`m${i}`);
    const fake = await serve(room);
    // Event ids with the token in them, and a malformed one (warned about) carrying it.
    fake.inject({
      match: messages,
      times: 1000,
      reply: (_r, normal) => {
        const reply = normal();
        const body = reply.body as { chunk: Record<string, unknown>[] };
        for (const event of body.chunk) {
          if ((event['content'] as { body?: string }).body === 'no id') {
            event['event_id'] = `$${TOKEN}`;
            delete event['sender'];
          }
        }
        return reply;
      },
    });
    const storage = new MemoryStorage();
    const warnings: MatrixWarning[] = [];
    const counting = countingSink();
    const { run, result } = await exportAll(
      source(fake, { pageSize: 4, onWarning: (w) => warnings.push(w) }),
      counting,
      { store: memoryStore(storage) },
    );
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    await run.close();
    const everything = [JSON.stringify([...storage.entries.values()]), JSON.stringify(warnings)];
    for (const text of everything) expect(text).not.toContain(TOKEN);
    expect(warnings.map((w) => w.code)).toContain('malformed-event');
    // The reply was held in the cursor (its parent on the same page) and still links up.
    const bodies = [...counting.sink.comments.values()].map((c) => c.body);
    expect(bodies).toContain('never paste <redacted> again');
    fake.violations.length = 0;
  });

  it('refuses a pagination token that carries it, rather than store it', async () => {
    const room = roomWith('tokened', 6);
    const fake = await serve(room);
    fake.inject({
      match: messages,
      times: 1000,
      reply: (_r, normal) => {
        const reply = normal();
        const body = reply.body as { end?: string };
        if (body.end !== undefined) body.end = room.aliasToken(room.positionOf(body.end)!, TOKEN);
        return reply;
      },
    });
    const storage = new MemoryStorage();
    const { run, result } = await exportAll(source(fake, { pageSize: 4 }), commentsSink(), {
      store: memoryStore(storage),
    });
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(run.unit('rooms/#tokened:localhost')?.error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(
        /the response has an end token that carries the access token: it is not stored/,
      ),
    });
    await run.close();
    expect(JSON.stringify([...storage.entries.values()])).not.toContain(TOKEN);
  });

  it('keeps it out of the error about a body that is not JSON, even in its content type', async () => {
    const fake = await serve(roomWith('typed', 1));
    fake.inject({
      match: messages,
      reply: () => ({
        status: 200,
        body: null,
        raw: 'maintenance',
        headers: { 'content-type': `text/plain; session=${TOKEN}` },
      }),
    });
    const { run } = await exportAll(source(fake, { maxRetries: 0 }), commentsSink());
    const error = run.unit('rooms/#typed:localhost')?.error;
    expect(error?.message).toMatch(/the response is not JSON \(text\/plain; session=<redacted>\)/);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });
});

describe('a body that does not end', () => {
  it('stops reading at maxResponseBytes and fails the room, not retried', async () => {
    let written = 0;
    let requests = 0;
    const server = createServer((req, res) => {
      requests += 1;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"chunk":[],"padding":"');
      const piece = Buffer.alloc(64 * 1024, 'x');
      // Writes while the client reads; stops at 64 MiB so that a client that reads it all ends.
      const pump = () => {
        while (written < 64 * 1024 * 1024) {
          written += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end('"}');
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const src = matrixSource({
        homeserverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        accessToken: TOKEN,
        rooms: ['!endless:localhost'],
        idMap: null,
        maxResponseBytes: 1024 * 1024,
        sleep: fakeSleep().sleep,
      });
      const { run } = await exportAll(src, commentsSink());
      expect(run.unit('rooms/!endless:localhost')?.error).toMatchObject({
        retryable: false,
        message: expect.stringMatching(
          /the response is larger than maxResponseBytes \(1048576 bytes\)/,
        ),
      });
      expect(requests).toBe(1);
      // The connection was dropped soon after the limit, not read to its end.
      expect(written).toBeLessThan(32 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('numbers JSON cannot store', () => {
  it('skips an event whose origin_server_ts is not finite, so a held reply never breaks the checkpoint', async () => {
    const room = newRoom('infinite');
    const parent = room.message('parent');
    const reply = room.reply(parent, 'reply from the far future');
    room.message('after');
    const fake = await serve(room);
    fake.inject({
      match: messages,
      times: 1000,
      reply: (_r, normal) => {
        const normalReply = normal();
        const body = normalReply.body as { chunk: Record<string, unknown>[] };
        for (const event of body.chunk)
          if (event['event_id'] === reply) event['origin_server_ts'] = 424242424242;
        // 1e999 is valid JSON, and parses to Infinity, which JSON.stringify writes as null.
        return {
          status: 200,
          body: null,
          raw: JSON.stringify(body).replace('424242424242', '1e999'),
        };
      },
    });
    const warnings: MatrixWarning[] = [];
    const storage = new MemoryStorage();
    const counting = countingSink();
    const src = source(fake, { pageSize: 10, onWarning: (w) => warnings.push(w) });
    const { run, result } = await exportAll(src, counting, { store: memoryStore(storage) });
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect([...counting.sink.comments.values()].map((c) => c.body)).toEqual(['parent', 'after']);
    expect(warnings.map((w) => w.message)).toContainEqual(
      expect.stringMatching(/skipped an event .*: no origin_server_ts$/),
    );
    await run.close();
    // Every cursor the checkpoint holds reads back.
    const stored = await memoryStore(storage).load('matrix:test');
    for (const unit of Object.values(stored!.units))
      for (const message of (unit.cursor as { held?: MatrixMessage[] } | null)?.held ?? [])
        expect(Number.isFinite(message.ts)).toBe(true);
  });
});

describe('ids from the server that would leave their path segment', () => {
  it('refuses an m.room.create event id of "..", which URL parsing resolves to another endpoint', async () => {
    const room = newRoom('dots');
    room.message('a');
    const fake = await serve(room);
    // An empty first page sends the source to /state and /context for the start of the history.
    fake.inject({
      match: (r) => messages(r) && r.params['from'] === undefined,
      reply: () => ({ status: 200, body: { chunk: [], start: 'now' } }),
    });
    fake.inject({
      match: (r) => r.operation === 'getRoomState',
      reply: (_r, normal) => {
        const reply = normal();
        for (const event of reply.body as Record<string, unknown>[])
          if (event['type'] === 'm.room.create') event['event_id'] = '..';
        return reply;
      },
    });
    const { run } = await exportAll(source(fake), commentsSink());
    expect(run.unit('rooms/#dots:localhost')?.error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/has no m\.room\.create event to start the history from/),
    });
    // Nothing was asked of /rooms/{roomId}/, where /context/.. leads.
    expect(fake.requests.map((r) => r.operation)).toEqual([
      'getRoomIdByAlias',
      'getRoomEvents',
      'getRoomState',
    ]);
    fake.violations.length = 0;
  });
});

describe('inputs that did not break anything (kept as guards)', () => {
  it('encodes room ids and aliases with / .. ? # so they stay one path segment', async () => {
    // Two rooms: one listed by an odd alias, one by an odd id (one room listed both ways would
    // be refused as listed twice).
    const byAlias = new FakeRoom({
      roomId: '!plain:localhost',
      aliases: ['#x/../y?z#w:localhost'],
      userId: '@exporter:localhost',
    }).createDefaults('odd');
    const byId = new FakeRoom({
      roomId: '!a/../b?c#d:localhost',
      aliases: [],
      userId: '@exporter:localhost',
    }).createDefaults('odd-id');
    for (const room of [byAlias, byId]) room.message('made it');
    const fake = await serve(byAlias, byId);
    const sink = commentsSink();
    const { result } = await exportAll(
      source(fake, { rooms: ['#x/../y?z#w:localhost', '!a/../b?c#d:localhost'] }),
      sink,
    );
    expect(result).toMatchObject({ completed: 2, failed: 0 });
    const paths = fake.requests.map((r) => r.path.split('?')[0]);
    expect(paths).toContain('/_matrix/client/v3/directory/room/%23x%2F..%2Fy%3Fz%23w%3Alocalhost');
    expect(paths).toContain('/_matrix/client/v3/rooms/!a%2F..%2Fb%3Fc%23d%3Alocalhost/messages');
    expect(fake.requests.every((r) => r.status === 200)).toBe(true);
  });

  it('reads fields of the wrong type as absent, and never holds a reply to itself or a reply cycle forever', async () => {
    const room = newRoom('odd');
    const a = room.message('a');
    const b = room.reply(a, 'b replies to a');
    room.message('numeric body');
    room.message('relates_to is a string');
    room.edit(a, 'a, edited');
    const self = room.message('replies to itself');
    room.message('last');
    const fake = await serve(room);
    fake.inject({
      match: messages,
      times: 1000,
      reply: (_r, normal) => {
        const reply = normal();
        for (const event of (reply.body as { chunk: Record<string, unknown>[] }).chunk) {
          const content = event['content'] as Record<string, unknown>;
          if (content['body'] === 'numeric body') content['body'] = 42;
          if (content['body'] === 'relates_to is a string') content['m.relates_to'] = 'oops';
          // a replies to b, b to a: a cycle.
          if (event['event_id'] === a)
            content['m.relates_to'] = { 'm.in_reply_to': { event_id: b } };
          if (event['event_id'] === self)
            content['m.relates_to'] = { 'm.in_reply_to': { event_id: self } };
        }
        return reply;
      },
    });
    const counting = countingSink();
    const { result } = await exportAll(source(fake, { pageSize: 3 }), counting);
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    const bodies = [...counting.sink.comments.values()].map((c) => c.body);
    expect(bodies.sort()).toEqual(
      [
        'a, edited',
        'b replies to a',
        null,
        'relates_to is a string',
        'replies to itself',
        'last',
      ].sort(),
    );
    expect([...counting.deliveries.values()].every((n) => n === 1)).toBe(true);
    fake.violations.length = 0;
  });
});
