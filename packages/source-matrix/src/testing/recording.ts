/**
 * Recorded homeserver traffic (requests and responses, as JSON) and the room it describes, rebuilt
 * as a {@link FakeRoom}: raw events in timeline order (contents as the client sent them), the user,
 * the alias, and the tokens the server handed out at each position.
 */
import { FakeRoom, type RawEvent } from './room.js';

type Obj = Record<string, unknown>;

export interface Exchange {
  request: { method: string; path: string; auth: string | null; body: unknown };
  response: { status: number; contentType: string; retryAfter: string | null; body: unknown };
}

export interface Recording {
  server: string;
  recorded: string;
  exchanges: Exchange[];
}

/** The access token as recordings are scrubbed to. */
export const RECORDED_TOKEN = '<token>';

const isMessages = (e: Exchange) =>
  e.request.method === 'GET' && /\/messages\?/.test(e.request.path);

/**
 * Rebuilds the room of a recording that registered a user, created a room with an alias, sent to it
 * and paged through it forward: the forward pages give the timeline, the sends give raw contents.
 */
export function recordedRoom(recording: Recording): FakeRoom {
  const exchanges = recording.exchanges;
  const register = exchanges.find((e) => e.request.path.endsWith('/register'))!;
  const created = exchanges.find((e) => e.request.path.endsWith('/createRoom'))!;
  const userId = (register.response.body as Obj)['user_id'] as string;
  const { room_id: roomId, room_alias: alias } = created.response.body as {
    room_id: string;
    room_alias: string;
  };

  // The content each event was sent with, before the server applied edits or redactions to it.
  const sent = new Map<string, Obj>();
  for (const e of exchanges) {
    if (
      e.request.method === 'PUT' &&
      e.request.path.includes('/send/') &&
      e.response.status === 200
    ) {
      sent.set((e.response.body as Obj)['event_id'] as string, e.request.body as Obj);
    }
  }

  const tokens: Record<string, number> = {};
  const timeline: Obj[] = [];
  for (const e of exchanges.filter(
    (x) => isMessages(x) && x.request.path.includes('dir=f') && x.response.status === 200,
  )) {
    const body = e.response.body as { chunk: Obj[]; start: string; end?: string };
    tokens[body.start] = timeline.length;
    timeline.push(...body.chunk);
    if (body.end) tokens[body.end] = timeline.length;
  }
  const room = new FakeRoom({
    roomId,
    aliases: [alias],
    userId,
    style: 'synapse-1.67',
    // Synapse's tokens at the page ends are t{p-1}-{p+77}: the recorded positions follow that shape.
    tokenShape: { topo: -1, stream: 77 },
    tokens,
  });
  for (const served of timeline) room.append(raw(served, sent));

  // The tokens /context and the backward page handed out, at the positions they stand for.
  for (const e of exchanges.filter(
    (x) => x.response.status === 200 && x.request.path.includes('/context/'),
  )) {
    const body = e.response.body as {
      start: string;
      end: string;
      event: Obj;
      events_before: Obj[];
      events_after: Obj[];
    };
    const at = room.position(body.event['event_id'] as string);
    room.recordToken(body.start, at - body.events_before.length);
    room.recordToken(body.end, at + 1 + body.events_after.length);
  }
  for (const e of exchanges.filter(
    (x) => isMessages(x) && x.request.path.includes('dir=b') && x.response.status === 200,
  )) {
    const body = e.response.body as { chunk: Obj[]; start: string; end?: string };
    const from = room.positionOf(body.start)!;
    if (body.end) room.recordToken(body.end, from - body.chunk.length);
  }
  return room;
}

function raw(served: Obj, sent: Map<string, Obj>): RawEvent {
  const id = served['event_id'] as string;
  const event: RawEvent = {
    event_id: id,
    type: served['type'] as string,
    sender: served['sender'] as string,
    origin_server_ts: served['origin_server_ts'] as number,
    content: sent.get(id) ?? (served['content'] as Obj),
  };
  if (typeof served['state_key'] === 'string') event.state_key = served['state_key'];
  if (typeof served['redacts'] === 'string') event.redacts = served['redacts'];
  return event;
}
