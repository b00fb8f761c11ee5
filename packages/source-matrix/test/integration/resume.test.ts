/**
 * Crashes and resumes: the cursor is the `end` token of the last page the sink accepted, so a
 * resumed room starts at the exact page after it; replies held back for their parent travel in
 * the cursor, so a crash loses none; what was imported before the crash is not imported again.
 */
import {
  always,
  type CheckpointStore,
  type Json,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Sink,
} from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import type { MatrixCursor, MatrixWarning } from '../../src/index.js';
import {
  type Comment,
  commentsSink,
  exportAll,
  homeserverPerTest,
  newRoom,
  parentsOf,
  source,
  stoppedAt,
  TOKEN,
  toComments,
} from '../support/harness.js';
import { checkedHomeserver, type FakeHomeserver } from '../support/homeserver.js';

const { serve } = homeserverPerTest({ legacyForwardWithoutFrom: true });

/** A store that stops acknowledging anything once `die()` was called: the process is gone. */
function mortalStore(storage: MemoryStorage): CheckpointStore & { die(): void } {
  const inner = memoryStore(storage);
  let dead = false;
  return {
    ...inner,
    die: () => {
      dead = true;
    },
    async append(id, changes) {
      if (dead) throw new Error('process died');
      return inner.append(id, changes);
    },
  };
}

/**
 * Runs the export until the sink is about to accept page `crashAt` (1-based), then "crashes":
 * that write happens (the comments API got them) but nothing after it is acknowledged.
 */
async function crashAfter(
  fake: FakeHomeserver,
  storage: MemoryStorage,
  sink: ReturnType<typeof commentsSink>,
  crashAt: number,
  options: Parameters<typeof source>[1] = {},
): Promise<void> {
  const store = mortalStore(storage);
  const run = await openRun({ id: 'matrix:resume', store, strategy: always(), signals: false });
  let writes = 0;
  await pipeline({
    run,
    source: source(fake, options),
    transform: toComments,
    sink: {
      write(items, context) {
        writes += 1;
        const result = sink.write(items, context);
        if (writes === crashAt) store.die();
        return result;
      },
    },
  }).catch(() => {});
  await run.abandon();
}

async function resume(
  fake: FakeHomeserver,
  storage: MemoryStorage,
  sink: Sink<Comment>,
  options: Parameters<typeof source>[1] = {},
) {
  const src = source(fake, options);
  const { run, result } = await exportAll(src, sink, {
    store: memoryStore(storage),
    id: 'matrix:resume',
  });
  return { run, result, src };
}

function storedCursor(storage: MemoryStorage, key: string): MatrixCursor | null {
  const entry = storage.entries.get('matrix:resume')!;
  let cursor: Json = null;
  for (const change of entry.log) {
    if (
      (change.type === 'unit.progressed' || change.type === 'unit.completed') &&
      change.key === key &&
      'cursor' in change
    ) {
      cursor = change.cursor ?? cursor;
    }
  }
  return cursor as unknown as MatrixCursor | null;
}

describe('resume', () => {
  it('after a crash after page k, starts at the exact page after it and imports nothing twice', async () => {
    const room = newRoom('crash');
    for (let i = 0; i < 23; i++) room.message(`m${i}`);
    const fake = await serve(room);
    const storage = new MemoryStorage();
    const sink = commentsSink();
    await crashAfter(fake, storage, sink, 3);
    const cursor = storedCursor(storage, 'rooms/#crash:localhost')!;
    expect(cursor.roomId).toBe(room.roomId);
    // Pages 1 and 2 were acknowledged; page 3 reached the sink but its cursor never got saved.
    expect(sink.comments.size).toBe(15);
    const before = fake.requests.length;

    const { result } = await resume(fake, storage, sink);
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    const after = fake.requests.slice(before);
    expect(after[0]?.params['from']).toBe(cursor.from);
    // No alias lookup, no /state or /context again: the room id and token came from the cursor.
    expect(after.map((r) => r.operation)).toEqual(after.map(() => 'getRoomEvents'));
    expect(sink.comments.size).toBe(23);
    expect([...sink.comments.values()].map((c) => c.body)).toEqual(
      Array.from({ length: 23 }, (_, i) => `m${i}`),
    );
  });

  it('keeps held replies in the checkpoint: a crash right after they were held loses none', async () => {
    const room = newRoom('held');
    for (let i = 0; i < 5; i++) room.message(`first page ${i}`);
    const parent = room.message('parent');
    const reply = room.reply(parent, 'reply, same page as its parent');
    const nested = room.reply(reply, 'reply to the reply');
    room.message('after');
    room.message('after 2');
    const fake = await serve(room);
    const storage = new MemoryStorage();
    const sink = commentsSink();
    await crashAfter(fake, storage, sink, 3, { pageSize: 5 });
    // Page 2 held both replies; page 3's write (the first reply) reached the sink, unacknowledged.
    const cursor = storedCursor(storage, 'rooms/#held:localhost')!;
    expect(cursor.held.map((m) => m.eventId)).toEqual([reply, nested]);
    expect(cursor.held[0]).toMatchObject({
      body: 'reply, same page as its parent',
      inReplyTo: parent,
    });

    const { run, src } = await resume(fake, storage, sink, { pageSize: 5 });
    const parents = parentsOf(sink);
    expect(parents.get(reply)?.eventId).toBe(parent);
    expect(parents.get(nested)?.eventId).toBe(reply);
    expect(sink.comments.size).toBe(10);
    expect(src.unresolved(run)).toEqual([]);
  });

  it('resumes a room whose history was read and only held replies were left, without reading it again', async () => {
    const room = newRoom('tail');
    room.message('one');
    const orphan = room.reply('$elsewhere', 'orphan');
    const child = room.reply(orphan, 'child of the orphan');
    const fake = await serve(room);
    const storage = new MemoryStorage();
    const sink = commentsSink();
    // Write 1: "one" (both replies held). The history ends; write 2: the orphan goes out
    // unresolved, its child still waits for the orphan's id; write 3 (the child) is never acknowledged.
    await crashAfter(fake, storage, sink, 3, { pageSize: 5 });
    const cursor = storedCursor(storage, 'rooms/#tail:localhost')!;
    expect(cursor).toMatchObject({
      from: null,
      held: [expect.objectContaining({ eventId: child })],
    });
    const before = fake.requests.length;
    const { run, src } = await resume(fake, storage, sink, { pageSize: 5 });
    expect(fake.requests.length).toBe(before);
    expect(src.unresolved(run)).toEqual([{ eventId: orphan, missing: '$elsewhere' }]);
    expect(sink.comments.size).toBe(3);
    expect(parentsOf(sink).get(child)?.eventId).toBe(orphan);
  });

  it('stops on Ctrl+C (abort) with everything flushed, and a rerun finishes without repeats', async () => {
    const room = newRoom('ctrlc');
    for (let i = 0; i < 30; i++)
      i % 3 === 2 ? room.reply(room.events.at(-1)!.event_id, `r${i}`) : room.message(`m${i}`);
    const fake = await serve(room);
    const storage = new MemoryStorage();
    const store = memoryStore(storage);
    const stop = new AbortController();
    const writes: Comment[][] = [];
    const sink = commentsSink();
    const counting = {
      write(items: readonly Comment[], context: Parameters<typeof sink.write>[1]) {
        writes.push([...items]);
        if (writes.length === 4) stop.abort();
        return sink.write(items, context);
      },
    };
    const first = await exportAll(source(fake, { pageSize: 4 }), counting, {
      store,
      id: 'matrix:resume',
      signal: stop.signal,
    });
    expect(first.result.aborted).toBe(true);
    await first.run.close();
    const sunk = writes.flat().length;
    const { result } = await resume(fake, storage, counting, { pageSize: 4 });
    expect(result.aborted).toBe(false);
    const all = writes.flat().map((c) => c.eventId);
    expect(new Set(all).size).toBe(all.length); // a graceful stop redelivers nothing
    expect(all.length).toBeGreaterThan(sunk);
    expect(sink.comments.size).toBe(30);
    for (const parent of parentsOf(sink).values()) expect(parent).toBeDefined();
  });

  it('fails a unit whose stored cursor is not a Matrix cursor, naming the unit, as not retryable', async () => {
    const room = newRoom('corrupt');
    room.message('x');
    const fake = await serve(room);
    const storage = new MemoryStorage();
    await stoppedAt(
      'rooms/#corrupt:localhost',
      { roomId: room.roomId, from: 42, held: [] },
      { id: 'matrix:resume', storage },
    );
    const { run: again } = await resume(fake, storage, commentsSink());
    expect(again.unit('rooms/#corrupt:localhost')?.error).toMatchObject({
      retryable: false,
      message:
        'unit "rooms/#corrupt:localhost": the checkpoint\'s cursor is not a Matrix cursor: from is neither a token nor null',
    });
  });

  it('survives a crash at any page of a room with replies and threads: every comment once, every reply linked', async () => {
    const room = newRoom('anywhere', { style: 'spec-1.7' });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      if (i % 4 === 1) ids.push(room.reply(ids.at(-1)!, `r${i}`));
      else if (i % 7 === 3) ids.push(room.thread(ids[i % 5]!, `t${i}`));
      else ids.push(room.message(`m${i}`));
      if (i % 11 === 5) room.edit(ids.at(-1)!, `edited ${i}`);
    }
    const fake = await serve(room);
    for (const crashAt of [1, 2, 5, 9, 13]) {
      const storage = new MemoryStorage();
      const sink = commentsSink();
      await crashAfter(fake, storage, sink, crashAt, { pageSize: 6 });
      await resume(fake, storage, sink, { pageSize: 6 });
      expect(sink.comments.size, `crash at ${crashAt}`).toBe(60);
      for (const [child, parent] of parentsOf(sink))
        expect(parent, `${child} after a crash at ${crashAt}`).toBeDefined();
    }
  });
});

/**
 * A resume whose stored pagination token the homeserver no longer accepts: the server was
 * migrated or restored from a backup, so its stream positions, and with them its tokens, changed
 * (it answers an old one with 400 M_INVALID_PARAM). The cursor names the last event read, so the
 * source finds its place again through `/context`; a cursor that cannot (written before it named
 * one) fails the room saying what happened and what to do.
 */
const KEY = 'rooms/#moved:localhost';

/** The same room (same events, same ids), its tokens in the shape `stream` gives them. */
function movedRoom(stream: number) {
  const room = newRoom('moved', { tokenShape: { topo: 0, stream } });
  for (let i = 0; i < 12; i++) room.message(`m${i}`);
  return room;
}

/** A first run on the old server, stopped (Ctrl+C) after two pages of five. */
async function stoppedOnTheOldServer(
  store: CheckpointStore,
  sink: ReturnType<typeof commentsSink>,
) {
  const old = await checkedHomeserver({
    accessToken: TOKEN,
    rooms: [movedRoom(1000)],
    legacyForwardWithoutFrom: false,
  }).start();
  const stop = new AbortController();
  let writes = 0;
  const stopping = {
    write(items: readonly Comment[], context: Parameters<typeof sink.write>[1]) {
      if (++writes === 2) stop.abort();
      return sink.write(items, context);
    },
  };
  const first = await exportAll(source(old), stopping, { store, signal: stop.signal });
  await first.run.close();
  await old.stop();
  expect(old.violations).toEqual([]);
}

describe('a stored token the server refuses', () => {
  it('finds its place again after the last event read, when the server refuses the stored token', async () => {
    const storage = new MemoryStorage();
    const store = memoryStore(storage);
    const sink = commentsSink();
    await stoppedOnTheOldServer(store, sink);
    expect(sink.comments.size).toBe(10);

    const room = movedRoom(5000);
    const fake = await serve(room);
    const warnings: MatrixWarning[] = [];
    const { run, result } = await exportAll(
      source(fake, { onWarning: (w) => warnings.push(w) }),
      sink,
      { store },
    );
    // Before: the room failed, not retryable, with "400 M_INVALID_PARAM: Invalid from parameter".
    expect(run.unit(KEY)?.error).toBeNull();
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect([...sink.comments.values()].map((c) => c.body)).toEqual(
      Array.from({ length: 12 }, (_, i) => `m${i}`),
    );
    expect(sink.writes).toBe(3); // two pages before, one after: nothing delivered twice
    const tenth = room.events.filter((e) => e.type === 'm.room.message')[9]!.event_id;
    const after = room.position(tenth) + 1;
    expect(
      fake.requests.map((r) => [r.operation, r.status, r.params['from'] ?? r.params['eventId']]),
    ).toEqual([
      ['getRoomEvents', 400, movedRoom(1000).token(after)], // the old server's token
      ['getEventContext', 200, tenth],
      ['getRoomEvents', 200, room.token(after)],
      ['getRoomEvents', 200, room.token(room.length)], // the end: an empty page without `end`
    ]);
    expect(warnings).toContainEqual(
      expect.objectContaining({ code: 'token-refused', roomId: room.roomId, eventId: tenth }),
    );
    const stored = JSON.stringify([...storage.entries.values()]);
    expect(stored).toContain(`"last":"${tenth}"`);
    expect(stored + JSON.stringify(warnings)).not.toContain(TOKEN);
  });

  it.each([
    ['names no event to find the place by', {}],
    ['names an event the server no longer has', { last: '$purged' }],
  ])('fails the room, saying what to do, when the cursor %s', async (_what, extra) => {
    const storage = new MemoryStorage();
    // A cursor of the old server's, as an earlier version of the source wrote it (or with `extra`).
    const from = movedRoom(1000).token(8);
    const store = await stoppedAt(
      KEY,
      { roomId: '!movedRoom:localhost', from, held: [], ...extra },
      { storage },
    );

    const fake = await serve(movedRoom(5000));
    const { run: again, result } = await exportAll(source(fake), commentsSink(), { store });
    expect(result).toMatchObject({ failed: 1 });
    const failure = again.unit(KEY)?.error;
    expect(failure).toMatchObject({ retryable: false });
    // Before: "GET /_matrix/client/v3/rooms/!movedRoom:localhost/messages failed: 400
    // M_INVALID_PARAM: Invalid from parameter", nothing about the checkpoint or what to do.
    expect(failure?.message).toMatch(
      /^room !movedRoom:localhost: the homeserver refused the pagination token stored in the checkpoint \(400 M_INVALID_PARAM: Invalid from parameter\), and .* reset the unit to read the room again from its start/,
    );
    expect(JSON.stringify([...storage.entries.values()])).not.toContain(TOKEN);
  });
});
