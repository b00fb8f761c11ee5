import { credentialFault } from '@checkpointkit/core';
import { MatrixConfigError } from './errors.js';
import type { MatrixWarning } from './types.js';

/** A `RoomEventFilter` (Client-Server API): which events `/messages` returns. */
export interface RoomEventFilter {
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
  limit?: number;
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  contains_url?: boolean;
  [key: string]: unknown;
}

export interface MatrixSourceOptions {
  /** The homeserver's base URL, such as `https://matrix.example.org`. */
  homeserverUrl: string;
  /**
   * The access token, sent as `Authorization: Bearer`. Never stored, logged or put in errors.
   * Given alone (no `Bearer ` in front), as one word of printable ASCII: a newline, surrounding
   * whitespace, a control or non-ASCII character is refused with a `MatrixConfigError`.
   */
  accessToken: string;
  /** Rooms to export: ids (`!abc:server`) or aliases (`#site_section:server`). One unit each. */
  rooms: readonly string[];
  /** Events asked for per `/messages` request (`limit`). Default 100. */
  pageSize?: number;
  /**
   * The `RoomEventFilter` sent with every `/messages` request. Default
   * `{ types: ['m.room.message'], lazy_load_members: true }`; `null` sends none.
   */
  filter?: RoomEventFilter | null;
  /**
   * The id map the sink fills with `event id -> new id` (returned as `idMappings`). A reply whose
   * parent is not in it yet is held back until it is. `null`: the sink returns no ids, emit
   * replies as they come. Default `matrix-event`.
   */
  idMap?: string | null;
  /** Most replies held at once per room; beyond it the oldest go out unresolved. Default 1000. */
  maxHeld?: number;
  /**
   * Most bytes of replies held at once per room (as JSON, as the cursor stores them); beyond it
   * the oldest go out unresolved. Bounds memory and every save against a server whose events are
   * far past the spec's 64 KiB. Default 16 MiB.
   */
  maxHeldBytes?: number;
  /** Remove the `> ` quote and `<mx-reply>` a reply carries for old clients. Default true. */
  stripReplyFallbacks?: boolean;
  /** Attempts after the first for 429, 5xx and network errors. Default 5. */
  maxRetries?: number;
  /**
   * The longest wait for one retry; a 429, or a 5xx with `Retry-After`, asking for more fails the
   * room at once (retryable). Default 60 s.
   */
  maxRetryWaitMs?: number;
  /** Gives up on a request after this long (then retries). Default 60 s. */
  requestTimeoutMs?: number;
  /**
   * The most bytes of one response read (after gzip is undone); a larger one fails the room, not
   * retried. Default 100 MiB.
   */
  maxResponseBytes?: number;
  /**
   * Pages in a row with no new event (empty, or only events a recent page had) before the room
   * fails. Default 100.
   */
  maxEmptyPages?: number;
  /** Called for retries, skipped or repeated events and fallbacks. */
  onWarning?: (warning: MatrixWarning) => void;
  /** The wait between retries (tests pass a fake). Must reject when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** The options with defaults applied, checked. */
export interface ResolvedOptions {
  homeserverUrl: string;
  accessToken: string;
  rooms: readonly string[];
  pageSize: number;
  filter: RoomEventFilter | null;
  idMap: string | null;
  maxHeld: number;
  maxHeldBytes: number;
  stripReplyFallbacks: boolean;
  maxRetries: number;
  maxRetryWaitMs: number;
  requestTimeoutMs: number;
  maxResponseBytes: number;
  maxEmptyPages: number;
  onWarning: (warning: MatrixWarning) => void;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  fetch: typeof fetch;
}

export const DEFAULT_FILTER: RoomEventFilter = {
  types: ['m.room.message'],
  lazy_load_members: true,
};
export const DEFAULT_ID_MAP = 'matrix-event';

/**
 * The default of `maxResponseBytes`: a page of 1000 events at the protocol's 64 KiB each is 64 MiB,
 * and a real page is far smaller; a body past this is a server that does not stop.
 */
const DEFAULT_MAX_RESPONSE_BYTES = 100 * 1024 * 1024;

/**
 * The default of `maxHeldBytes`: a thousand held replies of a few KiB each are a few MiB; a
 * thousand at the spec's 64 KiB would be 64 MiB in memory and in every save of the room.
 */
const DEFAULT_MAX_HELD_BYTES = 16 * 1024 * 1024;

/** The longest timer Node keeps (2^31 - 1 ms, about 24.8 days): it fires a longer one at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function resolveOptions(options: MatrixSourceOptions): ResolvedOptions {
  return {
    homeserverUrl: homeserver(options.homeserverUrl),
    accessToken: token(options.accessToken),
    rooms: rooms(options.rooms),
    pageSize: whole('pageSize', options.pageSize, 100, 1, 1000),
    filter: filter(options.filter),
    idMap: idMap(options.idMap),
    maxHeld: whole('maxHeld', options.maxHeld, 1000, 0),
    maxHeldBytes: whole('maxHeldBytes', options.maxHeldBytes, DEFAULT_MAX_HELD_BYTES, 0),
    stripReplyFallbacks: flag('stripReplyFallbacks', options.stripReplyFallbacks, true),
    maxRetries: whole('maxRetries', options.maxRetries, 5, 0),
    maxRetryWaitMs: whole('maxRetryWaitMs', options.maxRetryWaitMs, 60_000, 0, MAX_TIMER_MS),
    requestTimeoutMs: whole('requestTimeoutMs', options.requestTimeoutMs, 60_000, 1, MAX_TIMER_MS),
    maxResponseBytes: whole(
      'maxResponseBytes',
      options.maxResponseBytes,
      DEFAULT_MAX_RESPONSE_BYTES,
      1,
    ),
    maxEmptyPages: whole('maxEmptyPages', options.maxEmptyPages, 100, 1),
    onWarning: fn('onWarning', options.onWarning, () => {}),
    sleep: fn('sleep', options.sleep, sleep),
    fetch: fn('fetch', options.fetch, globalThis.fetch),
  };
}

/**
 * A function option, checked now: a string or an object in its place threw a TypeError from the
 * middle of a room instead, which failed it as retryable, so every run failed it again.
 */
function fn<T extends (...args: never[]) => unknown>(
  name: string,
  value: T | undefined,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new MatrixConfigError(name, 'must be a function');
  return value;
}

/** A boolean option: the string 'false' is truthy, and would have meant true. */
function flag(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new MatrixConfigError(name, 'must be true or false');
  return value;
}

function homeserver(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new MatrixConfigError(
      'homeserverUrl',
      'must be the homeserver URL, such as https://matrix.example.org',
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MatrixConfigError('homeserverUrl', `is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MatrixConfigError('homeserverUrl', `must be http or https, not ${url.protocol}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new MatrixConfigError(
      'homeserverUrl',
      'must not carry credentials, a query or a fragment',
    );
  }
  return url.href.replace(/\/+$/, '');
}

function token(value: unknown): string {
  // Never echo the value: it is a secret.
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MatrixConfigError('accessToken', 'must be a non-empty string');
  }
  // A newline, a scheme in front or a copy-paste's accent went out as is: the server said 401 (or
  // fetch threw a bare TypeError) on the first request, with nothing naming the option.
  const fault = credentialFault(value, 'token');
  if (fault) throw new MatrixConfigError('accessToken', fault);
  return value;
}

function rooms(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new MatrixConfigError(
      'rooms',
      'must list at least one room id (!id:server) or alias (#alias:server)',
    );
  }
  const seen = new Set<string>();
  for (const room of value) {
    // Room ids of room version 12 have no server part (`!hash`); aliases always do.
    if (typeof room !== 'string' || !/^(![^\s]+|#[^:\s]+:\S+)$/.test(room)) {
      throw new MatrixConfigError(
        'rooms',
        `has ${JSON.stringify(room)}, which is neither a room id (!id:server) nor an alias (#alias:server)`,
      );
    }
    if (seen.has(room)) throw new MatrixConfigError('rooms', `lists ${room} twice`);
    seen.add(room);
  }
  return [...value] as string[];
}

function filter(value: MatrixSourceOptions['filter']): RoomEventFilter | null {
  if (value === undefined) return DEFAULT_FILTER;
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new MatrixConfigError('filter', 'must be a RoomEventFilter object or null');
  }
  // Sent as JSON with every request: a BigInt or a cycle would fail each of them instead.
  try {
    JSON.stringify(value);
  } catch (error) {
    throw new MatrixConfigError(
      'filter',
      `must be a RoomEventFilter object or null: it cannot be sent as JSON (${(error as Error).message})`,
    );
  }
  return value;
}

function idMap(value: MatrixSourceOptions['idMap']): string | null {
  if (value === undefined) return DEFAULT_ID_MAP;
  if (value === null) return null;
  if (typeof value !== 'string' || value === '')
    throw new MatrixConfigError('idMap', 'must be a map name or null');
  return value;
}

function whole(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    // A string is quoted, so that "10" is not read as the number it looks like.
    const got = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new MatrixConfigError(
      name,
      `must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got ${got}`,
    );
  }
  return value;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
