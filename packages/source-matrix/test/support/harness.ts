/** What the integration tests share: a started fake homeserver, a comments sink, a fake sleep. */
import {
  always,
  type CheckpointStore,
  type Json,
  type MappedId,
  MemoryStorage,
  memoryStore,
  openRun,
  type PipelineResult,
  pipeline,
  type Run,
  type Sink,
} from '@checkpointkit/core';
import { afterEach, expect } from 'vitest';
import {
  type MatrixMessage,
  type MatrixSource,
  type MatrixSourceOptions,
  matrixSource,
  parentOf,
  resolveParent,
} from '../../src/index.js';
import type { FakeHomeserverOptions, FakeRoomInit } from '../../src/testing/index.js';
import { FakeRoom } from '../../src/testing/index.js';
import { checkedHomeserver, type FakeHomeserver } from './homeserver.js';

export const TOKEN = 'syt_dGVzdA_SeCrEtToKeN4242_1a2b3c';
export const USER = '@exporter:localhost';

/** A room with the default state events, under an alias. */
export function newRoom(
  name: string,
  options: { style?: FakeRoom['style']; tokenShape?: FakeRoomInit['tokenShape'] } = {},
): FakeRoom {
  return new FakeRoom({
    roomId: `!${name}Room:localhost`,
    aliases: [`#${name}:localhost`],
    userId: USER,
    ...(options.style && { style: options.style }),
    ...(options.tokenShape && { tokenShape: options.tokenShape }),
  }).createDefaults(name);
}

export async function startHomeserver(
  rooms: FakeRoom[],
  options: Partial<FakeHomeserverOptions> = {},
): Promise<FakeHomeserver> {
  return checkedHomeserver({ accessToken: TOKEN, rooms, ...options }).start();
}

/**
 * One fake homeserver per test: `serve(...rooms)` starts it; after each test it must have seen no
 * spec violations and is stopped. `forget()` is for a test that stopped its server itself.
 */
export function homeserverPerTest(options: Partial<FakeHomeserverOptions> = {}): {
  serve: (...rooms: FakeRoom[]) => Promise<FakeHomeserver>;
  forget: () => void;
} {
  let server: FakeHomeserver | undefined;
  afterEach(async () => {
    expect(server?.violations ?? []).toEqual([]);
    await server?.stop();
    server = undefined;
  });
  return {
    async serve(...rooms) {
      server = await startHomeserver(rooms, options);
      return server;
    },
    forget() {
      server = undefined;
    },
  };
}

/** Records the waits instead of waiting. */
export function fakeSleep(): {
  waits: number[];
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
} {
  const waits: number[] = [];
  return {
    waits,
    async sleep(ms, signal) {
      if (signal.aborted) throw signal.reason;
      waits.push(ms);
    },
  };
}

export function source(
  server: FakeHomeserver,
  options: Partial<MatrixSourceOptions> = {},
): MatrixSource {
  return matrixSource({
    homeserverUrl: server.url,
    accessToken: TOKEN,
    rooms: [...server.aliases.keys()],
    pageSize: 5,
    sleep: fakeSleep().sleep,
    ...options,
  });
}

export interface Comment {
  eventId: string;
  roomId: string;
  body: string | null;
  /** The Matrix event the comment answers (reply parent, else thread root). */
  parentEventId: string | null;
  /** The parent's new comment id, resolved through the run's id map. */
  parentId: MappedId | null;
  redacted: boolean;
}

export function toComments(items: readonly MatrixMessage[], { run }: { run: Run }): Comment[] {
  return items.map((m) => ({
    eventId: m.eventId,
    roomId: m.roomId,
    body: m.body,
    parentEventId: parentOf(m),
    parentId: resolveParent(m, run),
    redacted: m.redacted,
  }));
}

/**
 * A comments API: imports each comment once (keyed by its event id, so a redelivered page creates
 * nothing new) and returns the new ids as `matrix-event` mappings.
 */
export function commentsSink(options: { failOn?: (c: Comment) => boolean } = {}): Sink<Comment> & {
  comments: Map<number, Comment>;
  byEvent: Map<string, number>;
  writes: number;
} {
  const comments = new Map<number, Comment>();
  const byEvent = new Map<string, number>();
  const sink = {
    comments,
    byEvent,
    writes: 0,
    write(items: readonly Comment[]) {
      sink.writes += 1;
      const idMappings = [];
      for (const comment of items) {
        if (options.failOn?.(comment)) continue;
        let id = byEvent.get(comment.eventId);
        if (id === undefined) {
          id = comments.size + 1;
          byEvent.set(comment.eventId, id);
        }
        comments.set(id, comment);
        idMappings.push({ map: 'matrix-event', source: comment.eventId, target: id });
      }
      return { idMappings };
    },
  };
  return sink;
}

/** Opens a run on a memory store (saving after every change) and drives the source into the sink. */
export async function exportAll(
  src: MatrixSource,
  sink: Sink<Comment>,
  options: { store?: CheckpointStore; id?: string; signal?: AbortSignal } = {},
): Promise<{ run: Run; result: PipelineResult; store: CheckpointStore }> {
  const store = options.store ?? memoryStore(new MemoryStorage());
  const run = await openRun({
    id: options.id ?? 'matrix:test',
    store,
    strategy: always(),
    signals: false,
    autoCleanup: false,
  });
  const result = await pipeline({
    run,
    source: src,
    sink,
    transform: toComments,
    ...(options.signal && { signal: options.signal }),
  });
  return { run, result, store };
}

/** For every comment with a parent event: the parent's comment, or undefined when unlinked. */
export function parentsOf(sink: ReturnType<typeof commentsSink>): Map<string, Comment | undefined> {
  const out = new Map<string, Comment | undefined>();
  for (const comment of sink.comments.values()) {
    if (comment.parentEventId === null) continue;
    out.set(
      comment.eventId,
      comment.parentId === null ? undefined : sink.comments.get(Number(comment.parentId)),
    );
  }
  return out;
}

/** A room of `count` text messages, `<name> 0` to `<name> <count - 1>`. */
export function roomWith(name: string, count: number): FakeRoom {
  const room = newRoom(name);
  for (let i = 0; i < count; i++) room.message(`${name} ${i}`);
  return room;
}

/** A comments sink that also counts how often each event was delivered. */
export function countingSink() {
  const sink = commentsSink();
  const deliveries = new Map<string, number>();
  return {
    sink,
    deliveries,
    write: (items: readonly Comment[], context: Parameters<typeof sink.write>[1]) => {
      for (const item of items)
        deliveries.set(item.eventId, (deliveries.get(item.eventId) ?? 0) + 1);
      return sink.write(items, context);
    },
  };
}

/**
 * A checkpoint (id `matrix:test` unless given) in which `key` was started and stopped at
 * `cursor`, as a run stopped in the middle of a room leaves it: its store, to resume from.
 */
export async function stoppedAt(
  key: string,
  cursor: Json,
  options: { id?: string; storage?: MemoryStorage } = {},
): Promise<CheckpointStore> {
  const store = memoryStore(options.storage ?? new MemoryStorage());
  const run = await openRun({ id: options.id ?? 'matrix:test', store, signals: false });
  await run.plan([key]);
  await run.start(key);
  await run.progress(key, { cursor });
  await run.close();
  return store;
}
