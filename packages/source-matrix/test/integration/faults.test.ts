/**
 * Faults a homeserver throws at an export: rate limits with and without Retry-After, server and
 * network errors, auth and membership errors, odd pages (empty with an `end`, a repeated token,
 * endless empty pages) and a malformed event. Requests and responses stay spec-checked throughout.
 */
import {
  AuthenticationError,
  always,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
} from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import {
  MatrixAuthenticationError,
  MatrixPaginationError,
  MatrixRateLimitError,
  MatrixRequestError,
  type MatrixWarning,
} from '../../src/index.js';
import {
  commentsSink,
  exportAll,
  fakeSleep,
  homeserverPerTest,
  roomWith,
  source,
  TOKEN,
  toComments,
} from '../support/harness.js';
import type { Reply, RequestInfo } from '../support/homeserver.js';

const { serve, forget } = homeserverPerTest({ legacyForwardWithoutFrom: false });

const messages = (r: RequestInfo) => r.operation === 'getRoomEvents';
const limited = (headers: Record<string, string>, body: Record<string, unknown>): Reply => ({
  status: 429,
  headers,
  body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', ...body },
});

describe('rate limits', () => {
  it('waits for the Retry-After header first, then for retry_after_ms, then backs off', async () => {
    const fake = await serve(roomWith('limits', 12));
    let n = 0;
    fake.inject({
      match: messages,
      times: 3,
      reply: () => {
        n += 1;
        if (n === 1) return limited({ 'retry-after': '3' }, { retry_after_ms: 500 });
        if (n === 2) return limited({}, { retry_after_ms: 1234 });
        return limited({}, {});
      },
    });
    const clock = fakeSleep();
    const warnings: MatrixWarning[] = [];
    const sink = commentsSink();
    const { result } = await exportAll(
      source(fake, { sleep: clock.sleep, onWarning: (w) => warnings.push(w) }),
      sink,
    );
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect(clock.waits).toEqual([3000, 1234, 2000]);
    expect(warnings.filter((w) => w.code === 'retry').map((w) => w.waitMs)).toEqual([
      3000, 1234, 2000,
    ]);
    expect(sink.comments.size).toBe(12);
  });

  it('reads a Retry-After given as an HTTP date', async () => {
    const fake = await serve(roomWith('datelimit', 2));
    fake.inject({
      match: messages,
      reply: () => limited({ 'retry-after': new Date(Date.now() + 60_000).toUTCString() }, {}),
    });
    const clock = fakeSleep();
    await exportAll(source(fake, { sleep: clock.sleep }), commentsSink());
    expect(clock.waits).toHaveLength(1);
    expect(clock.waits[0]).toBeGreaterThan(50_000);
    expect(clock.waits[0]).toBeLessThanOrEqual(60_000);
  });

  it('gives up after maxRetries: the room fails as retryable, the others go on, and a rerun resumes it', async () => {
    const fake = await serve(roomWith('busy', 8), roomWith('calm', 3));
    const busy = fake.aliases.get('#busy:localhost');
    let armed = true;
    fake.inject({
      match: (r) =>
        armed && messages(r) && r.params['roomId'] === busy && r.params['from'] !== undefined,
      times: 1000,
      reply: () => limited({ 'retry-after': '1' }, {}),
    });
    const clock = fakeSleep();
    const sink = commentsSink();
    const src = source(fake, { sleep: clock.sleep, maxRetries: 3, pageSize: 3 });
    const { run, result, store } = await exportAll(src, sink);
    expect(result).toMatchObject({ completed: 1, failed: 1 });
    expect(clock.waits).toEqual([1000, 1000, 1000]);
    const unit = run.unit('rooms/#busy:localhost')!;
    expect(unit).toMatchObject({ status: 'failed', error: { retryable: true } });
    expect(unit.error?.message).toMatch(
      /429 M_LIMIT_EXCEEDED: Too Many Requests \(still rate limited after 4 attempts\)/,
    );
    expect(unit.done).toBe(3); // the first page went through before the limit hit
    await run.close();

    armed = false;
    const before = fake.messageRequests().length;
    const { result: again } = await exportAll(src, sink, { store });
    expect(again).toMatchObject({ completed: 1, failed: 0 });
    // The rerun starts at the page after the one the sink accepted, not at the start of the room.
    expect(fake.messageRequests()[before]?.params['from']).toBe(
      (unit.cursor as { from: string }).from,
    );
    expect([...sink.comments.values()].filter((c) => c.body?.startsWith('busy'))).toHaveLength(8);
  });

  it('fails the room at once when the server asks for a wait longer than maxRetryWaitMs', async () => {
    const fake = await serve(roomWith('patience', 2));
    fake.inject({ match: messages, reply: () => limited({ 'retry-after': '3600' }, {}) });
    const clock = fakeSleep();
    const { run } = await exportAll(
      source(fake, { sleep: clock.sleep, maxRetryWaitMs: 10_000 }),
      commentsSink(),
    );
    expect(clock.waits).toEqual([]);
    const unit = run.unit('rooms/#patience:localhost')!;
    expect(unit.error).toMatchObject({ retryable: true });
    expect(unit.error?.message).toMatch(/wait 3600000 ms, more than maxRetryWaitMs/);
  });

  it('stops promptly when aborted during a wait, leaving the room resumable', async () => {
    const fake = await serve(roomWith('abort', 4));
    fake.inject({ match: messages, reply: () => limited({ 'retry-after': '30' }, {}) });
    const stop = new AbortController();
    const src = source(fake, {
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          stop.abort();
        }),
    });
    const { run, result } = await exportAll(src, commentsSink(), { signal: stop.signal });
    expect(result.aborted).toBe(true);
    expect(run.unit('rooms/#abort:localhost')?.status).toBe('in_progress');
  });
});

describe('errors', () => {
  it('retries 5xx answers and non-JSON bodies, then carries on', async () => {
    const fake = await serve(roomWith('flaky', 6));
    fake.inject({
      match: messages,
      times: 2,
      reply: () => ({ status: 502, body: { errcode: 'M_UNKNOWN', error: 'Bad gateway' } }),
    });
    fake.inject({
      match: messages,
      reply: () => ({ status: 200, body: null, raw: '<html>maintenance</html>' }),
    });
    const clock = fakeSleep();
    const sink = commentsSink();
    await exportAll(source(fake, { sleep: clock.sleep }), sink);
    expect(clock.waits).toEqual([500, 1000, 2000]);
    expect(sink.comments.size).toBe(6);
  });

  it('fails a room whose server cannot be reached after the retries, as retryable', async () => {
    const fake = await serve(roomWith('gone', 1));
    await fake.stop();
    forget();
    const clock = fakeSleep();
    const { run } = await exportAll(
      source(fake, { sleep: clock.sleep, maxRetries: 2 }),
      commentsSink(),
    );
    const error = run.unit('rooms/#gone:localhost')?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(
      /^GET \/_matrix\/client\/v3\/directory\/room\/#gone:localhost failed: no response: /,
    );
    expect(clock.waits).toEqual([500, 1000]);
  });

  it('does not hang on a server that stops answering: times out, retries, then fails as retryable', async () => {
    const fake = await serve(roomWith('silent', 1));
    fake.latencyMs = 2_000;
    const clock = fakeSleep();
    const { run } = await exportAll(
      source(fake, { sleep: clock.sleep, maxRetries: 1, requestTimeoutMs: 50 }),
      commentsSink(),
    );
    expect(run.unit('rooms/#silent:localhost')?.error).toMatchObject({
      retryable: true,
      message: expect.stringMatching(/failed: no response: the request timed out$/),
    });
    expect(clock.waits).toEqual([500]);
  });

  it('stops the run at the first refused token (401 M_UNKNOWN_TOKEN), fails no room, and the rerun with a good token continues', async () => {
    const fake = await serve(roomWith('auth', 2), roomWith('auth2', 2), roomWith('auth3', 2));
    const good = fake.accessToken;
    fake.accessToken = 'another-token';
    const clock = fakeSleep();
    const store = memoryStore(new MemoryStorage());
    const open = () => openRun({ id: 'matrix:auth', store, strategy: always(), signals: false });
    const run = await open();
    const refusal = await pipeline({
      run,
      source: source(fake, { sleep: clock.sleep }),
      sink: commentsSink(),
      transform: toComments,
    }).catch((error: unknown) => error);
    await run.close();
    expect(refusal).toBeInstanceOf(MatrixAuthenticationError);
    expect(refusal).toBeInstanceOf(AuthenticationError);
    expect((refusal as Error).message).toMatch(
      /^the Matrix homeserver refused the credentials \(401 M_UNKNOWN_TOKEN: Invalid access token passed\. at GET .*\/messages\): check the access token/,
    );
    expect((refusal as Error).message).not.toContain(TOKEN);
    expect((refusal as MatrixAuthenticationError).failureCause).toMatchObject({
      status: 401,
      errcode: 'M_UNKNOWN_TOKEN',
    });
    // One refusal, not one per room, and no retry of it.
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(1);
    expect(clock.waits).toEqual([]);
    const stored = (await store.load('matrix:auth'))!;
    expect(Object.values(stored.units).filter((unit) => unit.status === 'failed')).toEqual([]);

    fake.accessToken = good;
    const sink = commentsSink();
    const { result } = await exportAll(source(fake), sink, { store, id: 'matrix:auth' });
    expect(result).toMatchObject({ completed: 3, failed: 0, failures: { count: 0 } });
    expect(sink.comments.size).toBe(6);
  });

  it('fails a room the user cannot read (403) or an alias that does not exist (404), not the others', async () => {
    const ok = roomWith('readable', 2);
    const fake = await serve(ok);
    const src = source(fake, {
      rooms: ['#readable:localhost', '!secret:localhost', '#missing:localhost'],
    });
    const sink = commentsSink();
    const { run, result, store } = await exportAll(src, sink);
    expect(result).toMatchObject({ completed: 1, failed: 2 });
    expect(run.unit('rooms/!secret:localhost')?.error).toMatchObject({
      retryable: false,
      message: expect.stringContaining('403 M_FORBIDDEN'),
    });
    expect(run.unit('rooms/#missing:localhost')?.error).toMatchObject({
      retryable: false,
      message: expect.stringContaining('404 M_NOT_FOUND'),
    });
    // Programs tell them apart by the structured cause; the alias in its URL is decoded.
    expect(run.unit('rooms/!secret:localhost')?.error?.cause).toMatchObject({
      status: 403,
      errcode: 'M_FORBIDDEN',
    });
    expect(run.unit('rooms/#missing:localhost')?.error?.cause).toEqual({
      status: 404,
      errcode: 'M_NOT_FOUND',
      url: `${fake.url}/_matrix/client/v3/directory/room/#missing:localhost`,
    });
    expect(sink.comments.size).toBe(2);
    // Not retried on the next run either (only retryable failures are).
    await run.close();
    const before = fake.requests.length;
    const { result: again } = await exportAll(src, sink, { store });
    expect(again).toMatchObject({ completed: 0, failed: 0 });
    expect(fake.requests.length).toBe(before);
  });

  it('throws typed errors that carry the endpoint, status, errcode and the wait asked for', async () => {
    const fake = await serve(roomWith('typed', 1));
    fake.inject({
      match: (r) => messages(r) && r.params['roomId'] === '!typedRoom:localhost',
      times: 10,
      reply: () => limited({}, { retry_after_ms: 7 }),
    });
    const src = source(fake, { maxRetries: 0, idMap: null });
    const read = async (key: string) => {
      try {
        for await (const _page of src.read({ key, cursor: null }, new AbortController().signal)) {
          /* drain */
        }
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const limitedError = await read('rooms/#typed:localhost');
    expect(limitedError).toBeInstanceOf(MatrixRateLimitError);
    expect(limitedError).toMatchObject({
      status: 429,
      errcode: 'M_LIMIT_EXCEEDED',
      retryAfterMs: 7,
      retryable: true,
    });
    expect((limitedError as MatrixRequestError).endpoint).toMatch(
      /^GET \/_matrix\/client\/v3\/rooms\/.*\/messages$/,
    );
    const src2 = source(fake, { rooms: ['!elsewhere:localhost'], idMap: null });
    let forbidden: unknown;
    try {
      for await (const _page of src2.read(
        { key: 'rooms/!elsewhere:localhost', cursor: null },
        new AbortController().signal,
      )) {
        /* drain */
      }
    } catch (error) {
      forbidden = error;
    }
    expect(forbidden).toBeInstanceOf(MatrixRequestError);
    expect(forbidden).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN', retryable: false });
  });
});

describe('odd pages', () => {
  it('goes on after an empty chunk that has an end, and records the page', async () => {
    const room = roomWith('gaps', 9);
    const fake = await serve(room);
    let k = 0;
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      times: 3,
      reply: (r) => {
        k += 1;
        const at = room.positionOf(r.params['from']!)!;
        return {
          status: 200,
          body: { chunk: [], start: r.params['from'], end: room.aliasToken(at, `gap${k}`) },
        };
      },
    });
    const sink = commentsSink();
    const cursors: unknown[] = [];
    const { result } = await exportAll(source(fake, { pageSize: 4 }), {
      write: (items, context) => {
        cursors.push(context.run.unit(context.unit)?.cursor);
        return sink.write(items, context);
      },
    });
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect(sink.comments.size).toBe(9);
    expect(
      fake
        .messageRequests()
        .map((r) => r.params['from'] ?? 'start')
        .filter((f) => f.includes('~gap')),
    ).toHaveLength(3);
  });

  it('catches a repeated token instead of looping: the room fails with a pagination error', async () => {
    const room = roomWith('loop', 20);
    const fake = await serve(room);
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      times: 1000,
      reply: (r, normal) => {
        const reply = normal();
        (reply.body as { end?: string }).end = r.params['from'];
        return reply;
      },
    });
    const sink = commentsSink();
    const { run, result } = await exportAll(source(fake, { pageSize: 5 }), sink);
    expect(result.failed).toBe(1);
    const error = run.unit('rooms/#loop:localhost')?.error;
    expect(error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/handed out the token .* a second time \(pagination loop\)/),
    });
    expect(fake.messageRequests().length).toBeLessThanOrEqual(3);
    expect(MatrixPaginationError.name).toBe('MatrixPaginationError');
  });

  it('takes an empty page that gives back its own token as the end of the history', async () => {
    const room = roomWith('echo', 3);
    const fake = await serve(room);
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      reply: (r) => ({
        status: 200,
        body: { chunk: [], start: r.params['from'], end: r.params['from'] },
      }),
    });
    const warnings: MatrixWarning[] = [];
    const sink = commentsSink();
    const { result } = await exportAll(
      source(fake, { pageSize: 10, onWarning: (w) => warnings.push(w) }),
      sink,
    );
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect(sink.comments.size).toBe(3);
    expect(warnings.map((w) => w.code)).toEqual(['repeated-token']);
  });

  it('fails a room that only ever sends empty pages, after maxEmptyPages', async () => {
    const room = roomWith('void', 2);
    const fake = await serve(room);
    let k = 0;
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      times: 1000,
      reply: (r) => ({
        status: 200,
        body: { chunk: [], start: r.params['from'], end: room.aliasToken(0, `v${++k}`) },
      }),
    });
    const { run } = await exportAll(source(fake, { maxEmptyPages: 5 }), commentsSink());
    expect(run.unit('rooms/#void:localhost')?.error?.message).toMatch(
      /6 pages in a row with no new event \(maxEmptyPages 5\)/,
    );
    expect(k).toBe(6);
  });

  it("fails the room on an event of another room, nothing of that page going out; an event without room_id is taken as the room's", async () => {
    const room = roomWith('mixed', 6);
    const fake = await serve(room);
    let foreign = '';
    fake.inject({
      match: messages,
      times: 2,
      reply: (r, normal) => {
        const reply = normal();
        const chunk = (reply.body as { chunk: Record<string, unknown>[] }).chunk;
        if (r.params['from'] === undefined) delete chunk[0]!['room_id'];
        else {
          chunk[1]!['room_id'] = '!elsewhere:localhost';
          foreign = chunk[1]!['event_id'] as string;
        }
        return reply;
      },
    });
    const sink = commentsSink();
    const { run, result } = await exportAll(source(fake, { pageSize: 3 }), sink);
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect([...sink.comments.values()].map((c) => c.body)).toEqual([
      'mixed 0',
      'mixed 1',
      'mixed 2',
    ]);
    const error = run.unit('rooms/#mixed:localhost')?.error;
    expect(error).toMatchObject({ retryable: false });
    expect(error?.message).toContain(room.roomId);
    expect(error?.message).toContain(foreign);
    expect(error?.message).toContain('!elsewhere:localhost');
    // The fake's own checks saw the event without room_id it was told to send.
    fake.violations.length = 0;
  });

  it('skips a malformed event and reports it, instead of failing or hanging on it', async () => {
    const room = roomWith('bad', 4);
    const fake = await serve(room);
    fake.inject({
      match: messages,
      reply: (_r, normal) => {
        const reply = normal();
        const chunk = (reply.body as { chunk: Record<string, unknown>[] }).chunk;
        delete chunk[1]!['sender'];
        chunk[2]!['content'] = 'not an object';
        return reply;
      },
    });
    const warnings: MatrixWarning[] = [];
    const sink = commentsSink();
    await exportAll(source(fake, { pageSize: 10, onWarning: (w) => warnings.push(w) }), sink);
    expect([...sink.comments.values()].map((c) => c.body)).toEqual(['bad 0', 'bad 3']);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/skipped an event .*: no sender$/),
      expect.stringMatching(/skipped an event .*: content is not an object$/),
    ]);
    // The fake's own checks saw the off-spec events it was told to send.
    expect(fake.violations.length).toBeGreaterThan(0);
    fake.violations.length = 0;
  });
});
