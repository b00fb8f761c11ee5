/**
 * Exporting synthetic rooms (built in the shapes the recording shows) through a pipeline into a
 * comments sink that returns new ids: replies linked to their parents, edits, redactions, threads.
 */

import {
  always,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Run,
} from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import type { MatrixMessage } from '../../src/index.js';
import { FakeRoom } from '../../src/testing/index.js';
import {
  commentsSink,
  exportAll,
  homeserverPerTest,
  newRoom,
  parentsOf,
  source,
  USER,
} from '../support/harness.js';

const { serve } = homeserverPerTest({ legacyForwardWithoutFrom: false });

describe('replies', () => {
  it('holds a reply whose parent is on the same page until the sink mapped the parent, then links it', async () => {
    const room = newRoom('same');
    const parent = room.message('parent');
    const reply = room.reply(parent, 'child');
    const grandchild = room.reply(reply, 'grandchild');
    const fake = await serve(room);
    const sink = commentsSink();
    const pages: string[][] = [];
    const { run } = await exportAll(source(fake, { pageSize: 20 }), {
      write: (items, context) => {
        pages.push(items.map((c) => c.body ?? ''));
        return sink.write(items, context);
      },
    });
    // All three events come in one /messages page (the second request finds the end of the
    // history); each reply waits one page for its parent's id.
    expect(fake.messageRequests()).toHaveLength(2);
    expect(pages).toEqual([['parent'], ['child'], ['grandchild']]);
    const parents = parentsOf(sink);
    expect(parents.get(reply)?.eventId).toBe(parent);
    expect(parents.get(grandchild)?.eventId).toBe(reply);
    expect(run.summary().idMaps).toEqual({ 'matrix-event': 3 });
  });

  it('delivers a reply whose parent is already mapped without holding it', async () => {
    const room = newRoom('mapped');
    const parent = room.message('parent');
    for (let i = 0; i < 4; i++) room.message(`filler ${i}`);
    const reply = room.reply(parent, 'late reply');
    const fake = await serve(room);
    const pages: string[][] = [];
    const sink = commentsSink();
    await exportAll(source(fake, { pageSize: 5 }), {
      write: (items, context) => {
        pages.push(items.map((c) => c.body ?? ''));
        return sink.write(items, context);
      },
    });
    expect(pages.at(-1)).toEqual(['late reply']);
    expect(pages.flat().filter((b) => b === 'late reply')).toHaveLength(1);
    expect(parentsOf(sink).get(reply)?.eventId).toBe(parent);
  });

  it('gives thread messages their root; the fallback pointer of a thread message is not a reply', async () => {
    const room = newRoom('threads');
    const root = room.message('root');
    const other = room.message('unrelated');
    const first = room.thread(root, 'first in thread', { fallingBack: true });
    const second = room.thread(root, 'second in thread', { fallingBack: true });
    const answer = room.thread(root, 'answers the first', { replyTo: first });
    const fake = await serve(room);
    const messages: MatrixMessage[] = [];
    const src = source(fake, { pageSize: 3 });
    const sink = commentsSink();
    await exportAll(src, {
      write: (items, context) => sink.write(items, context),
    });
    const run = await collect(src, messages);
    const byId = new Map(messages.map((m) => [m.eventId, m]));
    expect(byId.get(first)).toMatchObject({ threadRoot: root, inReplyTo: null });
    // The second's fallback pointer names the first thread message: still not a reply.
    expect(byId.get(second)).toMatchObject({ threadRoot: root, inReplyTo: null });
    expect(byId.get(answer)).toMatchObject({ threadRoot: root, inReplyTo: first });
    expect(byId.get(other)).toMatchObject({ threadRoot: null, inReplyTo: null });
    const parents = parentsOf(sink);
    expect(parents.get(first)?.eventId).toBe(root);
    expect(parents.get(answer)?.eventId).toBe(first);
    await run.close();
  });

  it('delivers a reply whose parent never comes at the end of the room, unlinked, and reports it', async () => {
    const room = newRoom('orphan');
    const nameEvent = room.events.find((e) => e.type === 'm.room.name')!.event_id;
    room.message('one');
    const orphan = room.reply('$neverSentInThisRoom', 'reply to nothing');
    const toState = room.reply(nameEvent, 'reply to a state event');
    const child = room.reply(orphan, 'reply to the orphan');
    room.message('two');
    const fake = await serve(room);
    const src = source(fake, { pageSize: 2 });
    const sink = commentsSink();
    const pages: string[][] = [];
    const { run } = await exportAll(src, {
      write: (items, context) => {
        pages.push(items.map((c) => c.body ?? ''));
        return sink.write(items, context);
      },
    });
    expect(sink.comments.size).toBe(5);
    // The orphans went out after the last page of history; the child right after its parent.
    expect(pages.slice(-2)).toEqual([
      ['reply to nothing', 'reply to a state event'],
      ['reply to the orphan'],
    ]);
    expect(src.unresolved(run).sort((a, b) => (a.eventId < b.eventId ? -1 : 1))).toEqual(
      [
        { eventId: orphan, missing: '$neverSentInThisRoom' },
        { eventId: toState, missing: nameEvent },
      ].sort((a, b) => (a.eventId < b.eventId ? -1 : 1)),
    );
    const parents = parentsOf(sink);
    expect(parents.get(orphan)).toBeUndefined();
    expect(parents.get(child)?.eventId).toBe(orphan);
    expect(run.summary().idMaps['matrix-event:unresolved']).toBe(2);
  });

  it('reports a reply whose parent failed to import instead of dropping it', async () => {
    const room = newRoom('failed');
    const parent = room.message('will fail');
    const reply = room.reply(parent, 'still here');
    const fake = await serve(room);
    const src = source(fake);
    const sink = commentsSink({ failOn: (c) => c.body === 'will fail' });
    const { run } = await exportAll(src, sink);
    expect([...sink.comments.values()].map((c) => c.body)).toEqual(['still here']);
    expect(src.unresolved(run)).toEqual([{ eventId: reply, missing: parent }]);
  });

  it('with idMap: null emits replies in timeline order without holding any', async () => {
    const room = newRoom('nohold');
    const a = room.message('a');
    room.reply(a, 'b');
    room.reply('$elsewhere', 'c');
    room.message('d');
    const fake = await serve(room);
    const pages: string[][] = [];
    const src = source(fake, { pageSize: 10, idMap: null });
    const { run } = await exportAll(src, {
      write: (items) => {
        pages.push(items.map((c) => c.body ?? ''));
        return undefined;
      },
    });
    expect(pages).toEqual([['a', 'b', 'c', 'd']]);
    expect(src.unresolved(run)).toEqual([]);
  });

  it('bounds the held replies by maxHeld: the oldest go out unresolved early', async () => {
    const room = newRoom('bounded');
    const replies = Array.from({ length: 6 }, (_, i) => room.reply('$missing', `r${i}`));
    room.message('last');
    const fake = await serve(room);
    const src = source(fake, { pageSize: 2, maxHeld: 2 });
    const sink = commentsSink();
    let most = 0;
    const { run } = await exportAll(src, {
      write: (items, context) => {
        const cursor = context.run.unit(context.unit)?.cursor as { held?: unknown[] } | null;
        most = Math.max(most, cursor?.held?.length ?? 0);
        return sink.write(items, context);
      },
    });
    expect(most).toBeLessThanOrEqual(2);
    expect(sink.comments.size).toBe(7);
    expect(
      src
        .unresolved(run)
        .map((u) => u.eventId)
        .sort(),
    ).toEqual([...replies].sort());
  });
});

describe('edits, redactions and bodies', () => {
  for (const style of ['synapse-1.67', 'spec-1.7'] as const) {
    it(`folds edits into their original, newest wins, never emits the edit (${style} server)`, async () => {
      const room = newRoom(`edits${style.replace(/\W/g, '')}`, { style });
      const original = room.message('first draft');
      const sameRoomLater = room.message('other');
      room.edit(original, 'second draft');
      for (let i = 0; i < 6; i++) room.message(`filler ${i}`);
      room.edit(original, 'final text');
      room.edit(sameRoomLater, 'not yours', { sender: '@intruder:localhost' });
      const fake = await serve(room);
      const messages: MatrixMessage[] = [];
      const run = await collect(source(fake, { pageSize: 3 }), messages);
      expect(messages).toHaveLength(8);
      expect(messages.find((m) => m.eventId === original)).toMatchObject({
        body: 'final text',
        edited: true,
      });
      expect(messages.find((m) => m.eventId === sameRoomLater)).toMatchObject({
        body: 'other',
        edited: false,
      });
      expect(messages.some((m) => m.body?.startsWith('* '))).toBe(false);
      await run.close();
    });
  }

  it('folds an edit that is on the same page as its original', async () => {
    const room = newRoom('samepageedit', { style: 'spec-1.7' });
    const original = room.message('typo');
    room.edit(original, 'fixed');
    const fake = await serve(room);
    // A server that does not bundle edits: the edit is folded from the page itself.
    const messages: MatrixMessage[] = [];
    fake.inject({
      match: (r) => r.operation === 'getRoomEvents',
      times: 10,
      reply: (_r, normal) => {
        const reply = normal();
        const body = reply.body as { chunk: { unsigned?: Record<string, unknown> }[] };
        for (const event of body.chunk) delete event.unsigned?.['m.relations'];
        return reply;
      },
    });
    const run = await collect(source(fake, { pageSize: 10 }), messages);
    expect(messages).toEqual([
      expect.objectContaining({ eventId: original, body: 'fixed', edited: true }),
    ]);
    await run.close();
  });

  it('keeps a redacted message as a tombstone, in its place, and links replies to it', async () => {
    const room = newRoom('redacted');
    const doomed = room.message('regrettable');
    const reply = room.reply(doomed, 'answer');
    room.redact(doomed);
    const fake = await serve(room);
    const sink = commentsSink();
    await exportAll(source(fake), sink);
    const comments = [...sink.comments.values()];
    expect(comments.map((c) => [c.body, c.redacted])).toEqual([
      [null, true],
      ['answer', false],
    ]);
    expect(parentsOf(sink).get(reply)?.eventId).toBe(doomed);
  });

  it('strips reply fallbacks from plain and HTML bodies (unless told not to)', async () => {
    const room = newRoom('fallback');
    const parent = room.message('question', { html: '<b>question</b>' });
    room.reply(parent, 'the answer', { fallback: true });
    const fake = await serve(room);
    const stripped: MatrixMessage[] = [];
    await (await collect(source(fake), stripped)).close();
    expect(stripped[1]).toMatchObject({
      body: 'the answer',
      formattedBody: 'the answer',
      inReplyTo: parent,
    });
    expect(stripped[0]).toMatchObject({ body: 'question', formattedBody: '<b>question</b>' });
    const raw: MatrixMessage[] = [];
    await (await collect(source(fake, { stripReplyFallbacks: false }), raw, 'raw')).close();
    expect(raw[1]?.body).toMatch(/^> <@exporter:localhost> question\n\nthe answer$/);
  });
});

describe('rooms', () => {
  it('exports several rooms, by alias and by id, one unit each', async () => {
    const a = newRoom('alpha');
    const b = newRoom('beta');
    a.message('in alpha');
    b.message('in beta');
    const fake = await serve(a, b);
    const sink = commentsSink();
    const src = source(fake, { rooms: ['#alpha:localhost', b.roomId] });
    const { run, result } = await exportAll(src, sink);
    expect(result).toMatchObject({ completed: 2, failed: 0 });
    expect(Object.keys(run.checkpoint.units)).toEqual([
      'rooms/#alpha:localhost',
      `rooms/${b.roomId}`,
    ]);
    expect([...sink.comments.values()].map((c) => [c.roomId, c.body])).toEqual([
      [a.roomId, 'in alpha'],
      [b.roomId, 'in beta'],
    ]);
    expect(fake.requests.filter((r) => r.operation === 'getRoomIdByAlias')).toHaveLength(1);
  });

  // A room listed twice (by alias and by id, or by two aliases) would be exported twice: every
  // message imported again under new ids. The second unit to reach the room fails instead.
  for (const [name, listed] of [
    ['by its alias and by its id', (id: string) => ['#same:localhost', id]],
    ['by its id and by its alias', (id: string) => [id, '#same:localhost']],
    ['by two aliases', () => ['#same:localhost', '#other-name:localhost']],
  ] as const) {
    it(`exports a room listed ${name} once, failing the second unit with a MatrixConfigError`, async () => {
      const room = new FakeRoom({
        roomId: '!sameRoom:localhost',
        aliases: ['#same:localhost', '#other-name:localhost'],
        userId: USER,
      }).createDefaults('same');
      room.message('only once');
      const fake = await serve(room);
      const sink = commentsSink();
      const { run, result } = await exportAll(source(fake, { rooms: listed(room.roomId) }), sink);
      expect([...sink.comments.values()].filter((c) => c.body === 'only once')).toHaveLength(1);
      expect(result).toMatchObject({ completed: 1, failed: 1 });
      const failed = Object.values(run.checkpoint.units).find((u) => u.status === 'failed');
      expect(failed?.error).toMatchObject({ retryable: false });
      expect(failed?.error?.message).toMatch(/same room \(!sameRoom:localhost\)/);
    });
  }

  it('a room exported by alias in one run is not exported again under its id in the next', async () => {
    const room = newRoom('again');
    room.message('once');
    const fake = await serve(room);
    const sink = commentsSink();
    const store = memoryStore(new MemoryStorage());
    const first = await exportAll(source(fake, { rooms: ['#again:localhost'] }), sink, { store });
    await first.run.close();
    const readBefore = fake.messageRequests().length;
    const { run, result } = await exportAll(
      source(fake, { rooms: ['#again:localhost', room.roomId] }),
      sink,
      { store },
    );
    expect(result).toMatchObject({ failed: 1 });
    expect(fake.messageRequests()).toHaveLength(readBefore); // the room was not read again
    expect(run.checkpoint.units[`rooms/${room.roomId}`]?.error?.message).toMatch(
      /lists #again:localhost and !againRoom:localhost, the same room/,
    );
    await run.close();
  });

  it('exports a large room with replies, threads, edits and redactions, all linked', async () => {
    const room = newRoom('large', { style: 'spec-1.7' });
    const ids: string[] = [];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 600; i++) {
      const kind = ids.length < 5 ? 0 : random(10);
      if (kind < 5) ids.push(room.message(`m${i}`));
      else if (kind < 8)
        ids.push(room.reply(ids[ids.length - 1 - random(Math.min(ids.length, 8))]!, `r${i}`));
      else if (kind === 8) ids.push(room.thread(ids[random(ids.length)]!, `t${i}`));
      else room.edit(ids[random(ids.length)]!, `e${i}`);
      if (random(50) === 0) room.redact(ids[random(ids.length)]!);
    }
    const fake = await serve(room);
    const sink = commentsSink();
    const src = source(fake, { pageSize: 25 });
    const { run } = await exportAll(src, sink);
    expect(sink.comments.size).toBe(ids.length);
    expect(src.unresolved(run)).toEqual([]);
    for (const comment of sink.comments.values()) {
      if (comment.parentEventId === null) continue;
      expect(comment.parentId, comment.eventId).not.toBeNull();
      expect(sink.comments.get(Number(comment.parentId))?.eventId).toBe(comment.parentEventId);
    }
  });
});

/** Reads a source through a pipeline whose sink keeps the messages as they came and maps their ids. */
async function collect(
  src: ReturnType<typeof source>,
  into: MatrixMessage[],
  id = 'collect',
): Promise<Run> {
  const run = await openRun({
    id,
    store: memoryStore(),
    strategy: always(),
    signals: false,
    autoCleanup: false,
  });
  await pipeline({
    run,
    source: src,
    sink: {
      write(items) {
        const start = into.length;
        into.push(...items);
        return {
          idMappings: items.map((m, i) => ({
            map: 'matrix-event',
            source: m.eventId,
            target: start + i + 1,
          })),
        };
      },
    },
  });
  return run;
}
