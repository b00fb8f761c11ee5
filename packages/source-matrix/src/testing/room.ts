/**
 * A room as a homeserver holds it: raw events in timeline order, served the way Synapse 1.67
 * serves them (as recorded in test/fixtures/matrix-recordings) or the way spec v1.7+ servers do.
 * Synapse 1.67 replaces an edited message's content with its latest edit and bundles only a
 * reference to the edit; spec v1.7+ servers leave the content alone and bundle the whole edit event.
 */
import { createHash } from 'node:crypto';

type Obj = Record<string, unknown>;

export interface RawEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Obj;
  state_key?: string;
  redacts?: string;
}

export type ServeStyle = 'synapse-1.67' | 'spec-1.7';

export interface FakeRoomInit {
  roomId: string;
  aliases?: string[];
  /** The user the server answers for (member of the room). */
  userId: string;
  style?: ServeStyle;
  /** Tokens known ahead (from a recording): token -> position. */
  tokens?: Record<string, number>;
  /** How minted tokens look: position p -> `t{p+topo}-{p+stream}_0_0_0_0_0_0_0_0`. */
  tokenShape?: { topo: number; stream: number };
}

/** Positions are gaps between events: position p lies before events[p]. */
export class FakeRoom {
  readonly roomId: string;
  readonly aliases: string[];
  readonly userId: string;
  style: ServeStyle;
  readonly events: RawEvent[] = [];
  readonly #byId = new Map<string, RawEvent>();
  readonly #redactedBy = new Map<string, RawEvent>();
  readonly #edits = new Map<string, RawEvent[]>();
  readonly #threads = new Map<string, RawEvent[]>();
  readonly #reactions = new Map<string, Map<string, number>>();
  readonly #tokenToPos = new Map<string, number>();
  readonly #posToToken = new Map<number, string>();
  readonly #shape: { topo: number; stream: number };
  #clock = 1_795_432_296_446;
  #serial = 0;

  constructor(init: FakeRoomInit) {
    this.roomId = init.roomId;
    this.aliases = init.aliases ?? [];
    this.userId = init.userId;
    this.style = init.style ?? 'synapse-1.67';
    this.#shape = init.tokenShape ?? { topo: 0, stream: 1000 };
    for (const [token, position] of Object.entries(init.tokens ?? {}))
      this.#remember(token, position);
  }

  get length(): number {
    return this.events.length;
  }

  event(id: string): RawEvent | undefined {
    return this.#byId.get(id);
  }

  position(id: string): number {
    return this.events.findIndex((e) => e.event_id === id);
  }

  // --- tokens -------------------------------------------------------------------------------

  /** The token for position p: a recorded one, else minted in the room's shape. */
  token(position: number): string {
    const known = this.#posToToken.get(position);
    if (known) return known;
    const minted = `t${position + this.#shape.topo}-${position + this.#shape.stream}_0_0_0_0_0_0_0_0`;
    this.#remember(minted, position);
    return minted;
  }

  /** The position of a token this room handed out (or can parse), else undefined. */
  positionOf(token: string): number | undefined {
    const known = this.#tokenToPos.get(token);
    if (known !== undefined) return known;
    const m = /^t(-?\d+)-(\d+)_0_0_0_0_0_0_0_0$/.exec(token);
    if (!m) return undefined;
    const position = Number(m[2]) - this.#shape.stream;
    return position >= 0 && position <= this.events.length && this.token(position) === token
      ? position
      : undefined;
  }

  /** Another token for the same position (a server may hand out several). */
  aliasToken(position: number, tag: string): string {
    const token = `${this.token(position)}~${tag}`;
    this.#tokenToPos.set(token, position);
    return token;
  }

  /** A token a recording shows for a position: understood, and handed out for it when none was. */
  recordToken(token: string, position: number): void {
    this.#remember(token, position);
  }

  #remember(token: string, position: number): void {
    this.#tokenToPos.set(token, position);
    if (!this.#posToToken.has(position)) this.#posToToken.set(position, token);
  }

  // --- building -----------------------------------------------------------------------------

  /** Appends a raw event as it is (recorded events keep their ids and times). */
  append(event: RawEvent): RawEvent {
    this.events.push(event);
    this.#byId.set(event.event_id, event);
    const relation = event.content['m.relates_to'] as Obj | undefined;
    if (event.type === 'm.room.redaction') {
      const target = event.redacts ?? (event.content['redacts'] as string | undefined);
      if (target && !this.#redactedBy.has(target)) this.#redactedBy.set(target, event);
    } else if (relation && typeof relation['event_id'] === 'string') {
      const target = relation['event_id'];
      if (relation['rel_type'] === 'm.replace' && event.type === 'm.room.message')
        push(this.#edits, target, event);
      if (relation['rel_type'] === 'm.thread') push(this.#threads, target, event);
      if (relation['rel_type'] === 'm.annotation' && event.type === 'm.reaction') {
        const key = String(relation['key']);
        const counts = this.#reactions.get(target) ?? new Map<string, number>();
        counts.set(key, (counts.get(key) ?? 0) + 1);
        this.#reactions.set(target, counts);
      }
    }
    this.#clock = Math.max(this.#clock, event.origin_server_ts);
    return event;
  }

  #new(type: string, content: Obj, extra: Partial<RawEvent> = {}): RawEvent {
    this.#serial += 1;
    this.#clock += 13;
    const hash = createHash('sha256')
      .update(`${this.roomId}/${this.#serial}`)
      .digest('base64url')
      .slice(0, 43);
    return this.append({
      type,
      sender: extra.sender ?? this.userId,
      content,
      ...(extra.state_key !== undefined && { state_key: extra.state_key }),
      ...(extra.redacts !== undefined && { redacts: extra.redacts }),
      origin_server_ts: extra.origin_server_ts ?? this.#clock,
      event_id: `$${hash}`,
    });
  }

  /** The state events a room starts with, in the shapes Synapse 1.67 creates them (see the recording). */
  createDefaults(name = 'Export test'): this {
    const u = this.userId;
    this.#new('m.room.create', { room_version: '9', creator: u }, { state_key: '' });
    this.#new(
      'm.room.member',
      { membership: 'join', displayname: u.slice(1).split(':')[0] },
      { state_key: u },
    );
    this.#new(
      'm.room.power_levels',
      {
        users: { [u]: 100 },
        users_default: 0,
        events_default: 0,
        state_default: 50,
        ban: 50,
        kick: 50,
        redact: 50,
        invite: 50,
      },
      { state_key: '' },
    );
    if (this.aliases[0])
      this.#new('m.room.canonical_alias', { alias: this.aliases[0] }, { state_key: '' });
    this.#new('m.room.join_rules', { join_rule: 'public' }, { state_key: '' });
    this.#new('m.room.history_visibility', { history_visibility: 'shared' }, { state_key: '' });
    this.#new('m.room.name', { name }, { state_key: '' });
    return this;
  }

  join(userId: string): string {
    return this.#new(
      'm.room.member',
      { membership: 'join', displayname: userId.slice(1).split(':')[0] },
      { state_key: userId, sender: userId },
    ).event_id;
  }

  message(body: string, options: { sender?: string; html?: string } = {}): string {
    const content: Obj = { msgtype: 'm.text', body };
    if (options.html)
      Object.assign(content, { format: 'org.matrix.custom.html', formatted_body: options.html });
    return this.#new('m.room.message', content, sender(options)).event_id;
  }

  /** A rich reply; with `fallback`, the quoted parent old clients show, as Element sent it before v1.13. */
  reply(
    parent: string,
    body: string,
    options: { sender?: string; fallback?: boolean } = {},
  ): string {
    const quoted = this.#byId.get(parent)?.content['body'];
    const text = options.fallback
      ? `> <${this.#byId.get(parent)?.sender}> ${String(quoted)}\n\n${body}`
      : body;
    const content: Obj = {
      msgtype: 'm.text',
      body: text,
      'm.relates_to': { 'm.in_reply_to': { event_id: parent } },
    };
    if (options.fallback) {
      Object.assign(content, {
        format: 'org.matrix.custom.html',
        formatted_body: `<mx-reply><blockquote>${String(quoted)}</blockquote></mx-reply>${body}`,
      });
    }
    return this.#new('m.room.message', content, sender(options)).event_id;
  }

  /** A thread message; `fallingBack` adds the reply pointer for clients without threads. */
  thread(
    root: string,
    body: string,
    options: { sender?: string; replyTo?: string; fallingBack?: boolean } = {},
  ): string {
    const latest = this.#threads.get(root)?.at(-1)?.event_id ?? root;
    const relation: Obj = { rel_type: 'm.thread', event_id: root };
    if (options.replyTo)
      Object.assign(relation, {
        is_falling_back: false,
        'm.in_reply_to': { event_id: options.replyTo },
      });
    else if (options.fallingBack ?? true)
      Object.assign(relation, { is_falling_back: true, 'm.in_reply_to': { event_id: latest } });
    return this.#new(
      'm.room.message',
      { msgtype: 'm.text', body, 'm.relates_to': relation },
      sender(options),
    ).event_id;
  }

  edit(original: string, body: string, options: { sender?: string; ts?: number } = {}): string {
    const content = {
      msgtype: 'm.text',
      body: `* ${body}`,
      'm.new_content': { msgtype: 'm.text', body },
      'm.relates_to': { rel_type: 'm.replace', event_id: original },
    };
    return this.#new('m.room.message', content, {
      ...sender(options),
      ...(options.ts !== undefined && { origin_server_ts: options.ts }),
    }).event_id;
  }

  react(target: string, key: string): string {
    return this.#new('m.reaction', {
      'm.relates_to': { rel_type: 'm.annotation', event_id: target, key },
    }).event_id;
  }

  redact(target: string, reason = 'test'): string {
    return this.#new('m.room.redaction', { reason }, { redacts: target }).event_id;
  }

  /** Any event, for shapes the helpers do not cover (a malformed one, another type). */
  raw(type: string, content: Obj): string {
    return this.#new(type, content).event_id;
  }

  // --- serving ------------------------------------------------------------------------------

  /** An event as the server sends it to a client: redaction, edits and aggregations applied. */
  view(event: RawEvent, options: { bundle?: boolean } = {}): Obj {
    const legacy = this.style === 'synapse-1.67';
    const unsigned: Obj = {};
    let content: Obj = event.content;
    const redaction = this.#redactedBy.get(event.event_id);
    const served: Obj = { type: event.type, room_id: this.roomId, sender: event.sender };
    if (redaction) {
      content = prune(event);
      const because = this.view(redaction);
      unsigned['redacted_by'] = redaction.event_id;
      unsigned['redacted_because'] = because;
      if (legacy) served['redacted_because'] = because;
    } else if (options.bundle !== false) {
      const relations: Obj = {};
      const edit = this.latestEdit(event);
      if (edit) {
        if (legacy) {
          const relatesTo = event.content['m.relates_to'];
          content = { ...(edit.content['m.new_content'] as Obj) };
          if (relatesTo) content['m.relates_to'] = relatesTo;
          relations['m.replace'] = {
            event_id: edit.event_id,
            origin_server_ts: edit.origin_server_ts,
            sender: edit.sender,
          };
        } else {
          relations['m.replace'] = this.view(edit, { bundle: false });
        }
      }
      const reactions = this.#reactions.get(event.event_id);
      if (reactions) {
        relations['m.annotation'] = {
          chunk: [...reactions].map(([key, count]) => ({ type: 'm.reaction', key, count })),
        };
      }
      const thread = this.#threads.get(event.event_id);
      if (thread && thread.length > 0) {
        relations['m.thread'] = {
          latest_event: this.view(thread.at(-1)!, { bundle: false }),
          count: thread.length,
          current_user_participated: thread.some((e) => e.sender === this.userId),
        };
      }
      if (Object.keys(relations).length > 0) unsigned['m.relations'] = relations;
    }
    served['content'] = content;
    if (event.state_key !== undefined) served['state_key'] = event.state_key;
    if (event.redacts !== undefined) served['redacts'] = event.redacts;
    served['origin_server_ts'] = event.origin_server_ts;
    served['unsigned'] = { age: 100, ...unsigned };
    served['event_id'] = event.event_id;
    if (legacy) {
      served['user_id'] = event.sender;
      served['age'] = 100;
    }
    return served;
  }

  /** The most recent valid, unredacted edit of an event (by origin_server_ts, then event id). */
  latestEdit(event: RawEvent): RawEvent | undefined {
    const edits = (this.#edits.get(event.event_id) ?? []).filter(
      (e) =>
        e.sender === event.sender &&
        !this.#redactedBy.has(e.event_id) &&
        typeof e.content['m.new_content'] === 'object',
    );
    return edits
      .sort((a, b) => a.origin_server_ts - b.origin_server_ts || (a.event_id < b.event_id ? -1 : 1))
      .at(-1);
  }

  /** The state before position p (the latest event per type and state key), sorted by type. */
  stateAt(position: number): RawEvent[] {
    const state = new Map<string, RawEvent>();
    for (const event of this.events.slice(0, position)) {
      if (event.state_key !== undefined) state.set(`${event.type}\u0000${event.state_key}`, event);
    }
    return [...state.values()].sort((a, b) =>
      a.type === b.type ? (a.state_key! < b.state_key! ? -1 : 1) : a.type < b.type ? -1 : 1,
    );
  }

  /** The member events of these senders in the state before position p. */
  membersAt(position: number, senders: Iterable<string>): RawEvent[] {
    const wanted = new Set(senders);
    return this.stateAt(position).filter(
      (e) => e.type === 'm.room.member' && wanted.has(e.state_key!),
    );
  }
}

function push(map: Map<string, RawEvent[]>, key: string, event: RawEvent): void {
  const list = map.get(key) ?? [];
  list.push(event);
  map.set(key, list);
}

function sender(options: { sender?: string }): Partial<RawEvent> {
  return options.sender ? { sender: options.sender } : {};
}

/** The content a redaction leaves (room versions 1-10): only the keys the protocol needs. */
function prune(event: RawEvent): Obj {
  const keep: Record<string, string[]> = {
    'm.room.member': ['membership'],
    'm.room.create': ['creator'],
    'm.room.join_rules': ['join_rule'],
    'm.room.power_levels': [
      'ban',
      'events',
      'events_default',
      'kick',
      'redact',
      'state_default',
      'users',
      'users_default',
    ],
    'm.room.history_visibility': ['history_visibility'],
  };
  const out: Obj = {};
  for (const key of keep[event.type] ?? []) if (key in event.content) out[key] = event.content[key];
  return out;
}
