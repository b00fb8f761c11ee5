import { MatrixPaginationError, MatrixRequestError, REDACTED } from './errors.js';
import type { MatrixHttp } from './http.js';
import type { RoomEventFilter } from './options.js';

const V3 = '/_matrix/client/v3';

/** The parts of a `GET /rooms/{roomId}/messages` response the source uses. */
export interface MessagesResponse {
  chunk: unknown[];
  start: string | null;
  /** Absent when there is nothing more to read in that direction. */
  end: string | null;
  /**
   * How `end` came when it was neither a token nor left out: `""` or null, both taken as left out
   * (see {@link token}); null otherwise.
   */
  blankEnd: '""' | 'null' | null;
}

const enc = encodeURIComponent;

/** `GET /directory/room/{roomAlias}`: the room id an alias points to. */
export async function resolveAlias(
  http: MatrixHttp,
  alias: string,
  signal: AbortSignal,
): Promise<string> {
  const path = `${V3}/directory/room/${enc(alias)}`;
  const body = await http.get(path, {}, signal);
  const roomId = field(body, 'room_id');
  if (typeof roomId !== 'string' || !roomId.startsWith('!')) {
    throw malformed(path, `has no room_id for ${alias}`);
  }
  return roomId;
}

/** `GET /rooms/{roomId}/messages?dir=f`: one page forward from `from` (or from the start). */
export async function messagesForward(
  http: MatrixHttp,
  roomId: string,
  page: { from?: string | undefined; limit: number; filter: RoomEventFilter | null },
  signal: AbortSignal,
): Promise<MessagesResponse> {
  const path = `${V3}/rooms/${enc(roomId)}/messages`;
  const body = await http.get(
    path,
    {
      dir: 'f',
      limit: page.limit,
      from: page.from,
      filter: page.filter === null ? undefined : JSON.stringify(page.filter),
    },
    signal,
  );
  const chunk = field(body, 'chunk');
  if (!Array.isArray(chunk)) throw malformed(path, 'has no chunk array');
  const end = field(body, 'end');
  return {
    chunk,
    start: token(path, roomId, '/messages', body, 'start'),
    end: token(path, roomId, '/messages', body, 'end'),
    blankEnd: end === '' ? '""' : end === null ? 'null' : null,
  };
}

/** `GET /rooms/{roomId}/state`: the current state events. */
export async function roomState(
  http: MatrixHttp,
  roomId: string,
  signal: AbortSignal,
): Promise<unknown[]> {
  const path = `${V3}/rooms/${enc(roomId)}/state`;
  const body = await http.get(path, {}, signal);
  if (!Array.isArray(body)) throw malformed(path, 'is not a list of state events');
  return body;
}

/** `GET /rooms/{roomId}/context/{eventId}?limit=0`: the pagination tokens around one event. */
export async function eventContext(
  http: MatrixHttp,
  roomId: string,
  eventId: string,
  signal: AbortSignal,
): Promise<{ start: string | null; end: string | null }> {
  const path = `${V3}/rooms/${enc(roomId)}/context/${enc(eventId)}`;
  const body = await http.get(path, { limit: 0 }, signal);
  const where = `/context of ${eventId}`;
  return {
    start: token(path, roomId, where, body, 'start'),
    end: token(path, roomId, where, body, 'end'),
  };
}

/**
 * A pagination token of the response, or null when it has none. `""` and null are taken as none,
 * as if left out (the spec's "no further events"): sent back as `from=`, an empty token is read as
 * no `from` at all, the first event of the room (before Matrix v1.3, the present), so the room was
 * read again from its start, or found empty. Any other non-string fails the room: there is no
 * telling where it leads. One that carried the access token (the body's strings have it replaced,
 * see body.ts) is refused: kept as it came, the cursor would put the token in the checkpoint; kept
 * redacted, it would lead nowhere.
 */
function token(
  path: string,
  roomId: string,
  where: string,
  body: unknown,
  name: 'start' | 'end',
): string | null {
  const value = field(body, name);
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') {
    // The value itself stays out of the message: a token-like thing is no one's to log.
    const kind = Array.isArray(value)
      ? 'an array'
      : typeof value === 'object'
        ? 'an object'
        : `a ${typeof value}`;
    throw new MatrixPaginationError(
      roomId,
      `${where} gave ${name === 'end' ? 'an' : 'a'} ${name} that is not a token (${kind}): not a Client-Server API response, and nothing tells where the history goes on`,
    );
  }
  if (value.includes(REDACTED)) {
    throw new MatrixRequestError({
      endpoint: `GET ${path}`,
      status: 200,
      errcode: null,
      detail: `the response has an ${name} token that carries the access token: it is not stored, so the room cannot be read past it`,
      retryable: false,
    });
  }
  return value;
}

function field(body: unknown, name: string): unknown {
  return body && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

function malformed(path: string, what: string): MatrixRequestError {
  return new MatrixRequestError({
    endpoint: `GET ${path}`,
    status: 200,
    errcode: null,
    detail: `the response ${what}: not a Client-Server API response`,
    retryable: false,
  });
}
