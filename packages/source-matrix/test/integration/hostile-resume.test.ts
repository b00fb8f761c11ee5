/**
 * A homeserver that misbehaves across a resume, or with a token of an unusual shape: pages whose
 * boundary is inclusive (the last event of a page comes again first on the next), and a server
 * that echoes the access token URL-encoded. Bounded by requests, never by the clock.
 */
import { MemoryStorage, memoryStore } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import type { MatrixWarning } from '../../src/index.js';
import { error } from '../../src/testing/index.js';
import {
  type Comment,
  commentsSink,
  exportAll,
  homeserverPerTest,
  newRoom,
  source,
  stoppedAt,
} from '../support/harness.js';
import { checkedHomeserver, type RequestInfo } from '../support/homeserver.js';

const { serve } = homeserverPerTest({ legacyForwardWithoutFrom: false });

const messages = (r: RequestInfo) => r.operation === 'getRoomEvents';

/** A comments sink that counts how often each event was delivered, and can stop the run. */
function countingSink(stopAfter?: { writes: number; stop: AbortController }) {
  const sink = commentsSink();
  const deliveries = new Map<string, number>();
  let writes = 0;
  return {
    sink,
    deliveries,
    write(items: readonly Comment[], context: Parameters<typeof sink.write>[1]) {
      for (const item of items)
        deliveries.set(item.eventId, (deliveries.get(item.eventId) ?? 0) + 1);
      if (stopAfter && ++writes === stopAfter.writes) stopAfter.stop.abort();
      return sink.write(items, context);
    },
  };
}

describe('pages whose boundary is inclusive', () => {
  it('delivers the event a resumed page repeats from the page before it only once', async () => {
    const room = newRoom('overlap');
    for (let i = 0; i < 12; i++) room.message(`m${i}`);
    const fake = await serve(room);
    // Every page asked for with a token starts again with the message just before that token.
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      times: 1000,
      reply: (r, normal) => {
        const reply = normal();
        const before = room.events[room.positionOf(r.params['from']!)! - 1];
        if (before?.type === 'm.room.message') {
          (reply.body as { chunk: unknown[] }).chunk.unshift(room.view(before));
        }
        return reply;
      },
    });
    const store = memoryStore(new MemoryStorage());
    const stop = new AbortController();
    const counting = countingSink({ writes: 1, stop });
    const first = await exportAll(source(fake), counting, { store, signal: stop.signal });
    await first.run.close();
    expect(counting.deliveries.size).toBe(5);

    const warnings: MatrixWarning[] = [];
    const { result } = await exportAll(
      source(fake, { onWarning: (w) => warnings.push(w) }),
      counting,
      { store },
    );
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect(counting.deliveries.size).toBe(12);
    // Before: m4, the last message of the page before the stop, reached the sink twice.
    expect([...counting.deliveries.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(warnings.map((w) => w.code)).toContain('repeated-events');
  });
});

describe('a stored token the server answers with 404', () => {
  it.each(['M_UNKNOWN', 'M_INVALID_PARAM'])(
    'takes a 404 %s on it as a refused token and finds its place again',
    async (errcode) => {
      const room = newRoom('gone');
      for (let i = 0; i < 8; i++) room.message(`m${i}`);
      const fake = await serve(room);
      const key = 'rooms/#gone:localhost';
      const fifth = room.events.filter((e) => e.type === 'm.room.message')[4]!.event_id;
      // A checkpoint of a run stopped after five messages, its token from before a purge or upgrade.
      const store = await stoppedAt(key, {
        roomId: room.roomId,
        from: 's_purged_42',
        held: [],
        last: fifth,
      });
      fake.inject({
        match: (r) => messages(r) && r.params['from'] === 's_purged_42',
        reply: () => error(404, errcode, 'Unknown pagination token'),
      });
      const warnings: MatrixWarning[] = [];
      const counting = countingSink();
      const { run: again, result } = await exportAll(
        source(fake, { onWarning: (w) => warnings.push(w) }),
        counting,
        { store },
      );
      // Before: the room failed with "GET .../messages failed: 404 ...", nothing about the checkpoint.
      expect(again.unit(key)?.error).toBeNull();
      expect(result).toMatchObject({ completed: 1, failed: 0 });
      expect([...counting.sink.comments.values()].map((c) => c.body)).toEqual(['m5', 'm6', 'm7']);
      expect(warnings).toContainEqual(
        expect.objectContaining({
          code: 'token-refused',
          roomId: room.roomId,
          message: expect.stringContaining(`stored in the checkpoint (404 ${errcode}`),
        }),
      );
    },
  );
});

describe('a cycle of pages longer than the pages the source remembers', () => {
  it('fails the room when an event read earlier comes again, instead of exporting the room lap after lap', async () => {
    const room = newRoom('lap');
    for (let i = 0; i < 20; i++) room.message(`m${i}`);
    const fake = await serve(room);
    // Every token is a fresh one, and the page after the last message leads back to the first.
    let k = 0;
    fake.inject({
      match: messages,
      times: 1000,
      reply: (_r, normal) => {
        if (++k > 60) return error(403, 'M_FORBIDDEN', 'the test stops a loop here');
        const reply = normal();
        const body = reply.body as { end?: string };
        const at = room.positionOf(body.end!)!;
        body.end = room.aliasToken(at === room.length ? 0 : at, `lap${k}`);
        return reply;
      },
    });
    const counting = countingSink();
    const { run, result } = await exportAll(source(fake, { pageSize: 1 }), counting);
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    // Before: m0 to m19 went out again on every lap, until the test's 403 stopped it.
    expect([...counting.deliveries.values()].every((n) => n === 1)).toBe(true);
    expect(counting.deliveries.size).toBe(20);
    expect(run.unit('rooms/#lap:localhost')?.error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(
        /^room !lapRoom:localhost: the event \$\S+ came again after 20 pages/,
      ),
    });
    expect(k).toBeLessThan(30);
  });
});

describe('a server that bundles no edits (as Dendrite and Conduit serve them)', () => {
  /** A room whose first message is edited after two pages of two. */
  function editedLate(name: string) {
    const room = newRoom(name, { style: 'spec-1.7' });
    const first = room.message('typo');
    room.message('second');
    room.message('third');
    room.edit(first, 'fixed');
    return { room, first };
  }

  it('warns about an edit it cannot apply any more, and not about one the server bundled', async () => {
    const unbundled = editedLate('unbundled');
    const bundled = editedLate('bundled');
    const fake = await serve(unbundled.room, bundled.room);
    // The messages come as they were sent, without their latest edit in unsigned.m.relations.
    fake.inject({
      match: (r) => messages(r) && r.path.includes(encodeURIComponent(unbundled.room.roomId)),
      times: 1000,
      reply: (_r, normal) => {
        const reply = normal();
        for (const event of (reply.body as { chunk: { unsigned?: Record<string, unknown> }[] })
          .chunk)
          delete event.unsigned?.['m.relations'];
        return reply;
      },
    });
    const warnings: MatrixWarning[] = [];
    const counting = countingSink();
    const { result } = await exportAll(
      source(fake, { pageSize: 2, onWarning: (w) => warnings.push(w) }),
      counting,
    );
    expect(result).toMatchObject({ completed: 2, failed: 0 });
    const bodies = (roomId: string) =>
      [...counting.sink.comments.values()].filter((c) => c.roomId === roomId).map((c) => c.body);
    expect(bodies(unbundled.room.roomId)).toEqual(['typo', 'second', 'third']);
    expect(bodies(bundled.room.roomId)).toEqual(['fixed', 'second', 'third']);
    // Before: the edit was dropped without a word, and the export said "typo" for good.
    expect(warnings.filter((w) => w.code === 'edit-missed')).toEqual([
      expect.objectContaining({ roomId: unbundled.room.roomId, eventId: unbundled.first }),
    ]);
  });
});

describe('a server that echoes the access token URL-encoded', () => {
  // An old Synapse macaroon, or an appservice token: base64, so `/`, `+` and `=` in it.
  const SLASHED = 'MDAxOGxvY2F0aW9u/c3lu+YXBzZQo=';

  it.each([
    ['percent-encoded', encodeURIComponent(SLASHED)],
    [
      'percent-encoded in lower case',
      encodeURIComponent(SLASHED).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    ],
    ['form-encoded', new URLSearchParams({ t: SLASHED }).toString().slice(2)],
  ])('keeps it out of errors and the checkpoint when it comes %s', async (_how, echoed) => {
    expect(echoed).not.toContain(SLASHED);
    const room = newRoom('encoded');
    const parent = room.message('a parent');
    room.reply(parent, `see /login?access_token=${echoed}`);
    room.message('last');
    const fake = await checkedHomeserver({
      accessToken: SLASHED,
      rooms: [room],
      legacyForwardWithoutFrom: false,
    }).start();
    try {
      fake.inject({
        match: (r) => messages(r) && r.params['from'] !== undefined,
        reply: () => error(403, 'M_FORBIDDEN', `GET ...?access_token=${echoed} is not allowed`),
      });
      const warnings: MatrixWarning[] = [];
      const storage = new MemoryStorage();
      const src = source(fake, {
        accessToken: SLASHED,
        pageSize: 2,
        onWarning: (w) => warnings.push(w),
      });
      const { run, result } = await exportAll(src, commentsSink(), {
        store: memoryStore(storage),
      });
      expect(result).toMatchObject({ failed: 1 });
      const failure = run.unit('rooms/#encoded:localhost')?.error;
      expect(failure?.message).toMatch(/403 M_FORBIDDEN: GET \.\.\.\?access_token=<redacted>/);
      // Before: the error, and the held reply in the cursor, carried the token as it came.
      const everything =
        JSON.stringify([...storage.entries.values()]) + JSON.stringify(warnings) + failure?.message;
      expect(everything).toContain('access_token=<redacted>');
      expect(everything).not.toContain(echoed);
      expect(fake.violations).toEqual([]);
    } finally {
      await fake.stop();
    }
  });
});
