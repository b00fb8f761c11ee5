/**
 * A Matrix homeserver on 127.0.0.1 for tests: answers the Client-Server API operations an export
 * needs (alias resolution, `/messages` both ways with filters, `/context`, `/state`) from
 * {@link FakeRoom}s the way Synapse 1.67 does (the package's tests check it against a recording of
 * a real Synapse). Faults (429s, server errors, odd pages) are injected per request. A
 * {@link TrafficCheck} (the package's tests plug in the spec's OpenAPI schemas) sees every request
 * and every response; what it objects to lands in `violations`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeRoom, RawEvent } from './room.js';

type Obj = Record<string, unknown>;

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as is instead of the JSON body: what a proxy in front of the server says (not spec-checked). */
  raw?: string;
}

export interface RequestInfo {
  operation: string;
  method: string;
  /** The path as sent (encoded). */
  path: string;
  params: Record<string, string>;
  authorization: string | undefined;
}

/**
 * A fault answers a request instead of the server, or changes its answer. `times` counts how many
 * matching requests it takes (default 1).
 */
export interface Fault {
  match: (request: RequestInfo) => boolean;
  times?: number;
  reply: (request: RequestInfo, normal: () => Reply) => Reply;
}

export interface LoggedRequest extends RequestInfo {
  status: number;
}

/** Checks traffic against an API description: returns what is wrong, or nothing. */
export interface TrafficCheck {
  /** The operation id a request is for (null when unknown), and what is wrong with the request. */
  request(
    method: string,
    url: URL,
    authorization: string | undefined,
  ): { operation: string | null; errors: string[] };
  response(operation: string, status: number, body: unknown): string[];
}

interface Route {
  operation: string;
  method: string;
  pattern: RegExp;
  names: string[];
}

const V3 = '/_matrix/client/v3';
const ROUTES: Route[] = [
  {
    operation: 'getRoomIdByAlias',
    method: 'GET',
    pattern: /^\/directory\/room\/([^/]+)$/,
    names: ['roomAlias'],
  },
  {
    operation: 'getRoomEvents',
    method: 'GET',
    pattern: /^\/rooms\/([^/]+)\/messages$/,
    names: ['roomId'],
  },
  {
    operation: 'getEventContext',
    method: 'GET',
    pattern: /^\/rooms\/([^/]+)\/context\/([^/]+)$/,
    names: ['roomId', 'eventId'],
  },
  {
    operation: 'getRoomState',
    method: 'GET',
    pattern: /^\/rooms\/([^/]+)\/state$/,
    names: ['roomId'],
  },
];

export interface FakeHomeserverOptions {
  /** The token it accepts in `Authorization: Bearer`. */
  accessToken: string;
  rooms: FakeRoom[];
  /** Synapse before 1.73: /messages?dir=f without `from` starts at the present, so returns nothing. */
  legacyForwardWithoutFrom?: boolean;
  /** Sees every request and response; its objections are collected in `violations`. */
  check?: TrafficCheck;
  /** Milliseconds each answer takes over HTTP, to make a demo or a timeout visible. Default 0. */
  latencyMs?: number;
}

export class FakeHomeserver {
  readonly rooms = new Map<string, FakeRoom>();
  readonly aliases = new Map<string, string>();
  readonly requests: LoggedRequest[] = [];
  readonly violations: string[] = [];
  readonly faults: Fault[] = [];
  legacyForwardWithoutFrom: boolean;
  accessToken: string;
  latencyMs: number;
  readonly #check: TrafficCheck | undefined;
  #server: Server | undefined;
  #url = '';

  constructor(options: FakeHomeserverOptions) {
    this.accessToken = options.accessToken;
    this.legacyForwardWithoutFrom = options.legacyForwardWithoutFrom ?? true;
    this.#check = options.check;
    this.latencyMs = options.latencyMs ?? 0;
    for (const room of options.rooms) this.addRoom(room);
  }

  addRoom(room: FakeRoom): void {
    this.rooms.set(room.roomId, room);
    for (const alias of room.aliases) this.aliases.set(alias, room.roomId);
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#server = undefined;
  }

  inject(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** The `/messages` requests made so far. */
  messageRequests(): LoggedRequest[] {
    return this.requests.filter((r) => r.operation === 'getRoomEvents');
  }

  /** Answers one request as the HTTP handler would, for tests that need no socket. */
  answer(method: string, pathAndQuery: string, authorization?: string): Reply {
    const url = new URL(pathAndQuery, 'http://127.0.0.1');
    const checked = this.#check?.request(method, url, authorization);
    for (const error of checked?.errors ?? [])
      this.violations.push(`request ${method} ${url.pathname}: ${error}`);
    const route = ROUTES.find(
      (r) =>
        r.method === method &&
        url.pathname.startsWith(V3) &&
        r.pattern.test(url.pathname.slice(V3.length)),
    );
    const request: RequestInfo = {
      operation: route?.operation ?? checked?.operation ?? 'unknown',
      method,
      path: url.pathname + url.search,
      params: route ? params(route, url) : {},
      authorization,
    };
    const normal = (): Reply =>
      route ? this.#route(route, request) : error(400, 'M_UNRECOGNIZED', 'Unrecognized request');
    const fault = this.faults.find((f) => (f.times ?? 1) > 0 && f.match(request));
    let reply: Reply;
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      reply = fault.reply(request, normal);
    } else reply = normal();
    const operation = checked?.operation;
    if (this.#check && operation && reply.raw === undefined) {
      for (const problem of this.#check.response(operation, reply.status, reply.body)) {
        this.violations.push(`response to ${method} ${url.pathname}: ${problem}`);
      }
    }
    this.requests.push({ ...request, status: reply.status });
    return reply;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', async () => {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      const reply = this.answer(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
      const body = reply.raw ?? JSON.stringify(reply.body);
      const type = reply.raw === undefined ? 'application/json' : 'text/html';
      res.writeHead(reply.status, { 'content-type': type, ...reply.headers });
      res.end(body);
    });
  }

  #route(route: Route, request: RequestInfo): Reply {
    const p = request.params;
    if (route.operation === 'getRoomIdByAlias') {
      const roomId = this.aliases.get(p['roomAlias']!);
      if (!roomId) return error(404, 'M_NOT_FOUND', `Room alias ${p['roomAlias']} not found`);
      return {
        status: 200,
        body: { room_id: roomId, servers: [p['roomAlias']!.split(':').slice(1).join(':')] },
      };
    }
    const auth = request.authorization;
    if (!auth) return error(401, 'M_MISSING_TOKEN', 'Missing access token.');
    if (auth !== `Bearer ${this.accessToken}`) {
      return {
        status: 401,
        body: {
          errcode: 'M_UNKNOWN_TOKEN',
          error: 'Invalid access token passed.',
          soft_logout: false,
        },
      };
    }
    const room = this.rooms.get(p['roomId']!);
    if (!room) {
      const user = [...this.rooms.values()][0]?.userId ?? '@user:localhost';
      return error(
        403,
        'M_FORBIDDEN',
        `User ${user} not in room ${p['roomId']}, and room previews are disabled`,
      );
    }
    switch (route.operation) {
      case 'getRoomEvents':
        return this.#messages(room, p);
      case 'getEventContext':
        return this.#context(room, p);
      case 'getRoomState':
        return { status: 200, body: room.stateAt(room.length).map((e) => room.view(e)) };
      default:
        return error(400, 'M_UNRECOGNIZED', 'Unrecognized request');
    }
  }

  #messages(room: FakeRoom, p: Record<string, string>): Reply {
    const dir = p['dir'];
    const limit = p['limit'] === undefined ? 10 : Number(p['limit']);
    const filter = p['filter'] === undefined ? {} : (JSON.parse(p['filter']) as Obj);
    let from: number;
    // Synapse reads an empty `from=` as no `from` at all: the start (or, before 1.73, the present).
    if (p['from'] === undefined || p['from'] === '') {
      from = dir === 'f' && !this.legacyForwardWithoutFrom ? 0 : room.length;
    } else {
      const position = room.positionOf(p['from']);
      if (position === undefined) return error(400, 'M_INVALID_PARAM', 'Invalid from parameter');
      from = position;
    }
    const start = p['from'] || room.token(from);
    const chunk: RawEvent[] = [];
    let at = from;
    if (dir === 'f') {
      for (; at < room.length && chunk.length < limit; at++)
        if (passes(room.events[at]!, filter)) chunk.push(room.events[at]!);
    } else {
      for (; at > 0 && chunk.length < limit; at--)
        if (passes(room.events[at - 1]!, filter)) chunk.push(room.events[at - 1]!);
    }
    const body: Obj = { chunk: chunk.map((e) => room.view(e)), start };
    // No events: no `end` (Synapse since 1.50, as the recording shows); else the gap after the last one.
    if (chunk.length > 0)
      body['end'] = room.token(
        dir === 'f'
          ? room.position(chunk.at(-1)!.event_id) + 1
          : room.position(chunk.at(-1)!.event_id),
      );
    if (filter['lazy_load_members'] === true && chunk.length > 0) {
      body['state'] = room
        .membersAt(room.length, new Set(chunk.map((e) => e.sender)))
        .map((e) => room.view(e));
    }
    return { status: 200, body };
  }

  #context(room: FakeRoom, p: Record<string, string>): Reply {
    const at = room.position(p['eventId']!);
    if (at < 0) return error(404, 'M_NOT_FOUND', 'Event not found.');
    const limit = p['limit'] === undefined ? 10 : Number(p['limit']);
    const beforeLimit = Math.floor(limit / 2);
    const before = room.events.slice(Math.max(0, at - beforeLimit), at).reverse();
    const after = room.events.slice(at + 1, at + 1 + (limit - beforeLimit));
    const last = at + after.length;
    return {
      status: 200,
      body: {
        events_before: before.map((e) => room.view(e)),
        event: room.view(room.events[at]!),
        events_after: after.map((e) => room.view(e)),
        state: room.stateAt(last + 1).map((e) => room.view(e)),
        start: room.token(at - before.length),
        end: room.token(last + 1),
      },
    };
  }
}

function params(route: Route, url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  const match = route.pattern.exec(url.pathname.slice(V3.length))!;
  route.names.forEach((name, i) => {
    out[name] = decodeURIComponent(match[i + 1]!);
  });
  for (const [name, value] of url.searchParams) out[name] = value;
  return out;
}

/** A Matrix error response. */
export function error(status: number, errcode: string, message: string): Reply {
  return { status, body: { errcode, error: message } };
}

/** Whether an event passes a RoomEventFilter (types and senders, with `*` wildcards). */
function passes(event: RawEvent, filter: Obj): boolean {
  const like = (patterns: unknown, value: string) =>
    Array.isArray(patterns) &&
    patterns.some((p) =>
      new RegExp(
        `^${String(p)
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replaceAll('*', '.*')}$`,
      ).test(value),
    );
  if (filter['types'] !== undefined && !like(filter['types'], event.type)) return false;
  if (like(filter['not_types'], event.type)) return false;
  if (filter['senders'] !== undefined && !like(filter['senders'], event.sender)) return false;
  if (like(filter['not_senders'], event.sender)) return false;
  return true;
}
