/** The fake homeserver's spec checks are only worth something if they catch drift: they do. */
import { describe, expect, it } from 'vitest';
import { spec } from '../support/homeserver.js';
import { loadRecording } from '../support/recording.js';

const recording = loadRecording();
const page = recording.exchanges.find((e) => e.request.path.includes('dir=f&limit=7&from=t6'))!;
const op = (id: string) => spec().operations.find((o) => o.id === id)!;
const url = (path: string) => new URL(path, 'http://127.0.0.1');

describe('request checks', () => {
  it('accept the requests the recording shows', () => {
    expect(spec().checkRequest('GET', url(page.request.path), 'Bearer x').errors).toEqual([]);
  });

  it('catch a missing dir, a bad limit, an undeclared parameter, a bad filter, a bad room id and no token', () => {
    const check = spec().checkRequest(
      'GET',
      url(
        '/_matrix/client/v3/rooms/room/messages?limit=x&access_token=t&filter=%7B%22senders%22%3A%5B%22bob%22%5D%7D',
      ),
      undefined,
    );
    expect(check.operation?.id).toBe('getRoomEvents');
    expect(check.errors).toEqual([
      'getRoomEvents: query parameter "access_token" is not in the spec',
      'getRoomEvents: path parameter "roomId"="room" / must match pattern "^!"',
      'getRoomEvents: path parameter "roomId"="room" / must match format "mx-room-id"',
      'getRoomEvents: query parameter "dir" is required',
      'getRoomEvents: query parameter "limit"="x" / must be integer',
      'getRoomEvents: filter /senders/0 must match pattern "^@"',
      'getRoomEvents: filter /senders/0 must match format "mx-user-id"',
      'getRoomEvents: needs the access token in an Authorization: Bearer header',
    ]);
  });

  it('know no operation they were not given', () => {
    expect(
      spec().checkRequest('GET', url('/_matrix/client/v3/rooms/!r:x/nothing'), 'Bearer x')
        .operation,
    ).toBeNull();
  });
});

describe('response checks', () => {
  it('accept the recorded page and catch one that drifted', () => {
    expect(spec().checkResponse(op('getRoomEvents'), 200, page.response.body)).toEqual([]);
    const drifted = structuredClone(page.response.body) as {
      chunk: Record<string, unknown>[];
      start?: string;
      end: unknown;
    };
    delete drifted.start;
    drifted.end = 12;
    delete drifted.chunk[0]!['origin_server_ts'];
    (drifted.chunk[1]!['content'] as Record<string, unknown>)['body'] = undefined;
    delete (drifted.chunk[1]!['content'] as Record<string, unknown>)['body'];
    const errors = spec().checkResponse(op('getRoomEvents'), 200, drifted);
    expect(errors).toEqual(
      expect.arrayContaining([
        "getRoomEvents 200: / must have required property 'start'",
        'getRoomEvents 200: /end must be string',
        "getRoomEvents 200: /chunk/0 must have required property 'origin_server_ts'",
        expect.stringMatching(
          /getRoomEvents 200: event \$\S+ \(m.room.message\) \/content must have required property 'body'/,
        ),
      ]),
    );
  });

  it('check error bodies against the standard error and rate-limit schemas', () => {
    expect(
      spec().checkResponse(op('getRoomEvents'), 429, {
        errcode: 'M_LIMIT_EXCEEDED',
        retry_after_ms: 10,
      }),
    ).toEqual([]);
    expect(
      spec().checkResponse(op('getRoomEvents'), 429, {
        errcode: 'M_LIMIT_EXCEEDED',
        retry_after_ms: '10',
      }),
    ).toEqual(['getRoomEvents 429: /retry_after_ms must be integer']);
    expect(spec().checkResponse(op('getRoomIdByAlias'), 404, { error: 'no errcode' })).toEqual([
      "getRoomIdByAlias 404: / must have required property 'errcode'",
    ]);
    expect(spec().checkResponse(op('getRoomIdByAlias'), 200, { room_id: 'nope' })).toEqual([
      'getRoomIdByAlias 200: /room_id must match pattern "^!"',
      'getRoomIdByAlias 200: /room_id must match format "mx-room-id"',
    ]);
  });

  it('resolve refs across files: /context and /state events are full ClientEvents', () => {
    expect(
      spec().checkResponse(op('getRoomState'), 200, [{ type: 'm.room.create', content: {} }]),
    ).toEqual([
      "getRoomState 200: /0 must have required property 'event_id'",
      "getRoomState 200: /0 must have required property 'sender'",
      "getRoomState 200: /0 must have required property 'origin_server_ts'",
      "getRoomState 200: /0 must have required property 'room_id'",
    ]);
    expect(
      spec().checkResponse(op('getEventContext'), 200, { event: { type: 'x' } }).length,
    ).toBeGreaterThan(0);
  });
});
