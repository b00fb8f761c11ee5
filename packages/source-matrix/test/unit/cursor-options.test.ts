import { describe, expect, it } from 'vitest';
import { readCursor, writeCursor } from '../../src/cursor.js';
import {
  MatrixConfigError,
  MatrixCursorError,
  matrixSource,
  retryAfterMs,
} from '../../src/index.js';
import { resolveOptions, sleep } from '../../src/options.js';

const message = {
  eventId: '$a',
  roomId: '!r:x',
  sender: '@a:x',
  ts: 1,
  msgtype: 'm.text',
  body: 'hi',
  formattedBody: null,
  inReplyTo: '$p',
  threadRoot: null,
  edited: false,
  editedTs: null,
  redacted: false,
};

describe('cursor', () => {
  it('round-trips, as a private copy each way', () => {
    const held = [{ ...message }];
    const stored = writeCursor({ roomId: '!r:x', from: 't1', held });
    held[0]!.body = 'changed later';
    const back = readCursor('rooms/#a:x', stored)!;
    expect(back).toEqual({ roomId: '!r:x', from: 't1', held: [message] });
    back.held[0]!.body = 'changed again';
    expect(readCursor('rooms/#a:x', stored)?.held[0]?.body).toBe('hi');
    expect(readCursor('rooms/#a:x', null)).toBeNull();
  });

  it.each([
    ['t1', 'not an object'],
    [{ roomId: '#alias:x', from: null, held: [] }, 'roomId is not a room id'],
    [{ roomId: '!r:x', from: 3, held: [] }, 'from is neither a token nor null'],
    [{ roomId: '!r:x', from: null }, 'held is not a list'],
    [{ roomId: '!r:x', from: 't1', held: [], last: '..' }, 'last is neither an event id nor null'],
    [{ roomId: '!r:x', from: null, held: [{ ...message, ts: 'x' }] }, 'held[0] has no ts'],
    [
      { roomId: '!r:x', from: null, held: [{ ...message, body: 5 }] },
      'held[0] has a body that is neither text nor null',
    ],
  ])('refuses %j, naming the unit and the field', (value, reason) => {
    expect(() => readCursor('rooms/#a:x', value as never)).toThrow(
      new MatrixCursorError('rooms/#a:x', reason),
    );
    try {
      readCursor('rooms/#a:x', value as never);
    } catch (error) {
      expect(error).toMatchObject({ retryable: false });
    }
  });
});

describe('options', () => {
  const ok = {
    homeserverUrl: 'https://matrix.example.org/',
    accessToken: 'tok',
    rooms: ['#a:example.org', '!b:example.org', '!v12roomid'],
  };

  it('applies defaults and normalizes the URL', () => {
    const o = resolveOptions(ok);
    expect(o).toMatchObject({
      homeserverUrl: 'https://matrix.example.org',
      pageSize: 100,
      idMap: 'matrix-event',
      maxRetries: 5,
    });
    expect(o.filter).toEqual({ types: ['m.room.message'], lazy_load_members: true });
    expect(matrixSource(ok).config).toEqual({
      homeserverUrl: 'https://matrix.example.org',
      rooms: ok.rooms,
      pageSize: 100,
      filter: { types: ['m.room.message'], lazy_load_members: true },
      idMap: 'matrix-event',
    });
  });

  it.each([
    [
      { homeserverUrl: 'matrix.example.org' },
      'homeserverUrl',
      'is not a URL: "matrix.example.org"',
    ],
    [{ homeserverUrl: 'ftp://x' }, 'homeserverUrl', 'must be http or https, not ftp:'],
    [
      { homeserverUrl: 'https://u:p@x' },
      'homeserverUrl',
      'must not carry credentials, a query or a fragment',
    ],
    [{ accessToken: '' }, 'accessToken', 'must be a non-empty string'],
    [
      { rooms: [] },
      'rooms',
      'must list at least one room id (!id:server) or alias (#alias:server)',
    ],
    [
      { rooms: ['general'] },
      'rooms',
      'has "general", which is neither a room id (!id:server) nor an alias (#alias:server)',
    ],
    [{ rooms: ['#a:x', '#a:x'] }, 'rooms', 'lists #a:x twice'],
    [{ pageSize: 0 }, 'pageSize', 'must be a whole number from 1 to 1000, got 0'],
    [{ maxRetries: 1.5 }, 'maxRetries', 'must be a whole number from 0, got 1.5'],
    [{ idMap: '' }, 'idMap', 'must be a map name or null'],
    [{ filter: [] }, 'filter', 'must be a RoomEventFilter object or null'],
    [{ pageSize: -1 }, 'pageSize', 'must be a whole number from 1 to 1000, got -1'],
    [{ pageSize: 1.5 }, 'pageSize', 'must be a whole number from 1 to 1000, got 1.5'],
    [{ pageSize: Number.NaN }, 'pageSize', 'must be a whole number from 1 to 1000, got NaN'],
    [{ pageSize: 1e9 }, 'pageSize', 'must be a whole number from 1 to 1000, got 1000000000'],
    [{ pageSize: '10' }, 'pageSize', 'must be a whole number from 1 to 1000, got "10"'],
    [{ rooms: ['!a/../b?c#d:x', '!a/../b?c#d:x'] }, 'rooms', 'lists !a/../b?c#d:x twice'],
    // Node fires a timer of 2^31 ms or more at once: every request would time out on the spot.
    [
      { requestTimeoutMs: 2 ** 31 },
      'requestTimeoutMs',
      'must be a whole number from 1 to 2147483647, got 2147483648',
    ],
    [
      { maxRetryWaitMs: 2 ** 31 },
      'maxRetryWaitMs',
      'must be a whole number from 0 to 2147483647, got 2147483648',
    ],
    [{ maxResponseBytes: 0 }, 'maxResponseBytes', 'must be a whole number from 1, got 0'],
    [{ maxHeldBytes: -1 }, 'maxHeldBytes', 'must be a whole number from 0, got -1'],
    [{ onWarning: 'console' }, 'onWarning', 'must be a function'],
    [{ sleep: 5 }, 'sleep', 'must be a function'],
    [{ fetch: {} }, 'fetch', 'must be a function'],
    [{ stripReplyFallbacks: 'false' }, 'stripReplyFallbacks', 'must be true or false'],
  ])('refuses %j naming the option', (patch, option, reason) => {
    expect(() => matrixSource({ ...ok, ...(patch as object) })).toThrow(
      new MatrixConfigError(option, reason),
    );
  });

  it('refuses a filter that cannot be sent as JSON when the source is made, not at its first request', () => {
    expect(() => matrixSource({ ...ok, filter: { limit: 10n as unknown as number } })).toThrow(
      new MatrixConfigError(
        'filter',
        'must be a RoomEventFilter object or null: it cannot be sent as JSON (Do not know how to serialize a BigInt)',
      ),
    );
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it('prefers the header (seconds or a date), then retry_after_ms', () => {
    expect(retryAfterMs('7', { retry_after_ms: 100 }, now)).toBe(7000);
    expect(retryAfterMs('Tue, 01 Jan 2030 00:00:30 GMT', null, now)).toBe(30_000);
    expect(retryAfterMs('Tue, 01 Jan 2029 00:00:30 GMT', null, now)).toBe(0);
    expect(retryAfterMs(null, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1500 }, now)).toBe(
      1500,
    );
    expect(retryAfterMs('soon', { retry_after_ms: 20 }, now)).toBe(20);
    expect(retryAfterMs(null, { retry_after_ms: -1 }, now)).toBeNull();
    expect(retryAfterMs(null, null, now)).toBeNull();
  });

  it('accepts the three HTTP date formats, and nothing else the lenient Date.parse would take', () => {
    expect(retryAfterMs('Tuesday, 01-Jan-30 00:00:30 GMT', null, now)).toBe(30_000);
    expect(retryAfterMs('Tue Jan  1 00:00:30 2030', null, now)).toBe(30_000);
    // Date.parse reads each of these as a day in 2001, so the wait came out as 0 ms.
    for (const header of ['-1', '1.5', '0.5', 'May 1', 'soon 5', '1 2 3']) {
      expect([header, retryAfterMs(header, { retry_after_ms: 2000 }, now)]).toEqual([header, 2000]);
      expect([header, retryAfterMs(header, null, now)]).toEqual([header, null]);
    }
  });
});

describe('sleep', () => {
  it('rejects with the reason when aborted', async () => {
    const stop = new AbortController();
    const waiting = sleep(60_000, stop.signal);
    stop.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await expect(sleep(1, stop.signal)).rejects.toThrow('stop');
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });
});
