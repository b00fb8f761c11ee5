import type { Json } from '@checkpointkit/core';
import { MatrixCursorError } from './errors.js';
import type { MatrixMessage } from './types.js';

/**
 * What a room's unit stores after each page the sink accepted. `from` is the `end` token to read
 * on from (null once the history is read to its end); `held` are the replies read but not delivered
 * yet because their parent has no new id yet. Keeping them here, in the same flush as the page's id
 * mappings, is what lets a crash or Ctrl+C lose none of them.
 */
export interface MatrixCursor {
  roomId: string;
  from: string | null;
  held: MatrixMessage[];
  /**
   * The id of the last event read before `from`: when the server refuses `from` on a resume, the
   * read finds its place again after this event (`/context`). Absent in cursors written before
   * the source kept it; null while no event was read.
   */
  last?: string | null;
}

export function writeCursor(cursor: MatrixCursor): Json {
  // A deep copy: the run keeps the value, and held messages may still change (an edit, a redaction).
  return structuredClone({
    roomId: cursor.roomId,
    from: cursor.from,
    held: cursor.held,
    ...(cursor.last !== undefined && { last: cursor.last }),
  }) as unknown as Json;
}

/** The stored cursor of `unit`, a private copy of it, or null when the unit starts fresh. */
export function readCursor(unit: string, value: Json): MatrixCursor | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new MatrixCursorError(unit, 'not an object');
  const { roomId, from, held, last } = value as Record<string, Json | undefined>;
  if (typeof roomId !== 'string' || !roomId.startsWith('!'))
    throw new MatrixCursorError(unit, 'roomId is not a room id');
  if (from !== null && typeof from !== 'string')
    throw new MatrixCursorError(unit, 'from is neither a token nor null');
  if (!Array.isArray(held)) throw new MatrixCursorError(unit, 'held is not a list');
  if (last !== undefined && last !== null && !(typeof last === 'string' && last.startsWith('$')))
    throw new MatrixCursorError(unit, 'last is neither an event id nor null');
  held.forEach((message, i) => {
    const problem = messageProblem(message);
    if (problem) throw new MatrixCursorError(unit, `held[${i}] ${problem}`);
  });
  return {
    roomId,
    from,
    held: structuredClone(held) as unknown as MatrixMessage[],
    ...(last !== undefined && { last }),
  };
}

const STRING_OR_NULL = ['msgtype', 'body', 'formattedBody', 'inReplyTo', 'threadRoot'] as const;

function messageProblem(value: Json): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'is not a message';
  for (const name of ['eventId', 'roomId', 'sender'] as const) {
    if (typeof value[name] !== 'string') return `has no ${name}`;
  }
  if (typeof value['ts'] !== 'number') return 'has no ts';
  for (const name of STRING_OR_NULL) {
    if (value[name] !== null && typeof value[name] !== 'string')
      return `has a ${name} that is neither text nor null`;
  }
  if (typeof value['edited'] !== 'boolean' || typeof value['redacted'] !== 'boolean')
    return 'lacks edited/redacted';
  if (value['editedTs'] !== null && typeof value['editedTs'] !== 'number')
    return 'has an editedTs that is not a time';
  return null;
}
