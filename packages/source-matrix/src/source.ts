import type {
  Json,
  Page,
  Run,
  Source,
  SourceContext,
  UnitPlan,
  UnitRead,
} from '@checkpointkit/core';
import { resolveAlias } from './api.js';
import { type MatrixCursor, readCursor, writeCursor } from './cursor.js';
import { MatrixConfigError, MatrixCursorError } from './errors.js';
import { foldPage, RecentMessages } from './fold.js';
import { MatrixHttp } from './http.js';
import {
  type MatrixSourceOptions,
  type ResolvedOptions,
  type RoomEventFilter,
  resolveOptions,
} from './options.js';
import { firstMissing, orphans, overflowing, partition } from './replies.js';
import { forwardPages } from './timeline.js';
import type { MatrixMessage, UnresolvedReply } from './types.js';

/** The unit key of a room: `rooms/<alias or id>`. */
export function roomUnitKey(room: string): string {
  return `rooms/${room}`;
}

/** The name of the id map that records replies delivered without their parent's new id. */
export function unresolvedMapName(idMap: string): string {
  return `${idMap}:unresolved`;
}

/** The options of a source without the access token: safe to log, and to pass as `openRun`'s config. */
export interface MatrixSourceConfig {
  homeserverUrl: string;
  rooms: string[];
  pageSize: number;
  filter: RoomEventFilter | null;
  idMap: string | null;
}

export interface MatrixSource extends Source<MatrixMessage> {
  /** The options without the access token. */
  readonly config: MatrixSourceConfig;
  /**
   * Replies delivered without their parent's new id (the parent was never mapped: not exported,
   * filtered out, or its import failed), as recorded in the checkpoint, so the list survives resumes.
   * Reads the run given, else the one the pipeline last planned with.
   */
  unresolved(run?: Pick<Run, 'checkpoint'>): UnresolvedReply[];
}

/**
 * A {@link Source} of Matrix room history: one unit per room (`rooms/<alias or id>`), read forward
 * with `/messages?dir=f` page by page; the cursor is the page's `end` token, so a resumed room
 * starts at the exact page after the last one the sink accepted.
 *
 * Edits are folded into their original, redacted messages come as tombstones, thread messages carry
 * their root. With `idMap` (default `matrix-event`) a reply whose parent has no new id yet is held
 * back, in the cursor, until the sink mapped the parent; what stays unresolved when the room is
 * read to its end goes out anyway and is recorded (see {@link MatrixSource.unresolved}).
 */
export function matrixSource(options: MatrixSourceOptions): MatrixSource {
  const resolved = resolveOptions(options);
  const http = new MatrixHttp(resolved);
  const rooms = new Map(resolved.rooms.map((room) => [roomUnitKey(room), room]));
  // Room id → the unit reading it, so that a room listed twice is not exported twice.
  const claims = new Map<string, string>();
  let planned: Run | undefined;

  return {
    config: {
      homeserverUrl: resolved.homeserverUrl,
      rooms: [...resolved.rooms],
      pageSize: resolved.pageSize,
      filter: resolved.filter,
      idMap: resolved.idMap,
    },
    units(context: SourceContext): UnitPlan[] {
      planned = context.run;
      return [...rooms.keys()].map((key) => ({ key }));
    },
    read(unit: UnitRead, signal: AbortSignal): AsyncIterable<Page<MatrixMessage>> {
      const room = rooms.get(unit.key);
      if (room === undefined) throw new MatrixCursorError(unit.key, 'this source has no such room');
      return readRoom({ http, options: resolved, run: planned, claims }, room, unit, signal);
    },
    unresolved(run = planned): UnresolvedReply[] {
      if (!run || resolved.idMap === null) return [];
      const map = run.checkpoint.idMaps[unresolvedMapName(resolved.idMap)] ?? {};
      return Object.entries(map).map(([eventId, missing]) => ({
        eventId,
        missing: String(missing),
      }));
    },
  };
}

interface ReadContext {
  http: MatrixHttp;
  options: ResolvedOptions;
  run: Run | undefined;
  claims: Map<string, string>;
}

/**
 * Takes `roomId` for unit `key`, or refuses it when another unit of the source reads it or (by
 * its cursor in the checkpoint) read it: a room listed by alias and by id, or by two aliases,
 * would have every message exported twice.
 */
function claimRoom(context: ReadContext, key: string, roomId: string): void {
  let other = context.claims.get(roomId);
  for (const [otherKey, unit] of Object.entries(context.run?.checkpoint.units ?? {})) {
    if (other !== undefined) break;
    if (otherKey === key || !otherKey.startsWith(roomUnitKey('')) || unit.cursor === null) continue;
    const cursor = (() => {
      try {
        return readCursor(otherKey, unit.cursor);
      } catch {
        return null; // that unit's own read reports its damaged cursor
      }
    })();
    if (cursor?.roomId === roomId) other = otherKey;
  }
  if (other !== undefined && other !== key) {
    const listed = (unitKey: string) => unitKey.slice(roomUnitKey('').length);
    throw new MatrixConfigError(
      'rooms',
      `lists ${listed(other)} and ${listed(key)}, the same room (${roomId}): its messages would be exported twice; keep one of them`,
    );
  }
  context.claims.set(roomId, key);
}

async function* readRoom(
  context: ReadContext,
  room: string,
  unit: UnitRead,
  signal: AbortSignal,
): AsyncGenerator<Page<MatrixMessage>> {
  const { options, run } = context;
  const idMap = options.idMap;
  if (idMap !== null && run === undefined) {
    throw new MatrixConfigError(
      'idMap',
      `is set, and replies are linked through the run, which the source gets from units(): read ${unit.key} through pipeline(), or set idMap: null`,
    );
  }
  const isMapped =
    idMap === null || run === undefined
      ? () => true
      : (id: string) => run.lookupId(idMap, id) !== undefined;
  const stored = readCursor(unit.key, unit.cursor);
  const roomId =
    stored?.roomId ??
    (room.startsWith('#') ? await resolveAlias(context.http, room, signal) : room);
  claimRoom(context, unit.key, roomId);
  let held = stored?.held ?? [];
  let last = stored?.last ?? null;
  const cursor = (from: string | null, waiting: MatrixMessage[]): Json =>
    writeCursor({ roomId, from, held: waiting, last } satisfies MatrixCursor);
  const fold = {
    roomId,
    stripReplyFallbacks: options.stripReplyFallbacks,
    warn: options.onWarning,
    recent: new RecentMessages(),
  };
  const release = async (messages: readonly MatrixMessage[]) => {
    for (const message of messages) await recordUnresolved(context, roomId, message, isMapped);
  };

  if (stored === null || stored.from !== null) {
    const resume =
      stored !== null && stored.from !== null ? { from: stored.from, last } : undefined;
    for await (const page of forwardPages(context, roomId, resume, signal)) {
      last = page.last;
      const candidates = [...held, ...foldPage(page.events, held, fold)];
      const { ready, waiting } = partition(candidates, isMapped);
      // Beyond maxHeld or maxHeldBytes the oldest held replies go out now, unresolved, to bound
      // the cursor.
      const overflow = waiting.splice(0, overflowing(waiting, options).length);
      await release(overflow);
      held = waiting;
      const out =
        overflow.length === 0 ? ready : inOrder(candidates, new Set([...ready, ...overflow]));
      // The empty page that ends the history moves nothing: the unit completes next (or below).
      if (out.length === 0 && page.next === null) continue;
      yield { items: out, cursor: cursor(page.next, held) };
    }
  }

  // The history is read; deliver what waited, as its parents get mapped, then whatever is left.
  while (held.length > 0) {
    const { ready, waiting } = partition(held, isMapped);
    if (ready.length > 0) {
      held = waiting;
      yield { items: ready, cursor: cursor(null, held) };
      continue;
    }
    const out = orphans(held, isMapped);
    await release(out);
    const gone = new Set(out);
    held = held.filter((message) => !gone.has(message));
    yield { items: out, cursor: cursor(null, held) };
  }
}

function inOrder(all: readonly MatrixMessage[], keep: Set<MatrixMessage>): MatrixMessage[] {
  return all.filter((message) => keep.has(message));
}

async function recordUnresolved(
  context: ReadContext,
  roomId: string,
  message: MatrixMessage,
  isMapped: (id: string) => boolean,
): Promise<void> {
  const missing = firstMissing(message, isMapped);
  if (missing === null || context.run === undefined || context.options.idMap === null) return;
  await context.run.mapId(unresolvedMapName(context.options.idMap), message.eventId, missing);
  context.options.onWarning({
    code: 'unresolved-reply',
    roomId,
    eventId: message.eventId,
    message: `reply ${message.eventId} in room ${roomId} goes out without its parent: ${missing} was never mapped`,
  });
}
