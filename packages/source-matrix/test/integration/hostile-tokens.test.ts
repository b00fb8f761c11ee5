/**
 * A homeserver whose pagination tokens are off: an `end` of `""` (or null) where the spec omits
 * it, a `start` or `end` that is no string at all, `/context` tokens of `""`, and a token the
 * server refuses in the middle of a read although it handed it out itself a moment before.
 * Bounded by requests, never by the clock.
 */
import { MemoryStorage, memoryStore } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { MatrixPaginationError, type MatrixSource, type MatrixWarning } from '../../src/index.js';
import { error } from '../../src/testing/index.js';
import {
  commentsSink,
  countingSink,
  exportAll,
  homeserverPerTest,
  roomWith,
  source,
  stoppedAt,
} from '../support/harness.js';
import type { RequestInfo } from '../support/homeserver.js';

const { serve } = homeserverPerTest({ legacyForwardWithoutFrom: false });

const messages = (r: RequestInfo) => r.operation === 'getRoomEvents';

/** Reads one unit outside a pipeline (idMap null) and returns what it threw, if anything. */
async function thrownBy(src: MatrixSource, key: string): Promise<unknown> {
  try {
    for await (const _page of src.read({ key, cursor: null }, new AbortController().signal)) {
      /* drain */
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

const bodies = (sink: ReturnType<typeof commentsSink>) =>
  [...sink.comments.values()].map((c) => c.body);

describe('an end that is an empty string (or null) instead of left out', () => {
  it.each([
    ['""', ''],
    ['null', null],
  ])(
    'takes end %s on the page after the last as the end of the history, not as from= (the start again)',
    async (_label, blank) => {
      const room = roomWith('blank', 12);
      const fake = await serve(room);
      // Every page the spec would send without `end` comes with this one instead.
      fake.inject({
        match: messages,
        times: 1000,
        reply: (_r, normal) => {
          const reply = normal();
          const body = reply.body as { end?: string | null };
          if (body.end === undefined) body.end = blank;
          return reply;
        },
      });
      const warnings: MatrixWarning[] = [];
      const counting = countingSink();
      const { run, result } = await exportAll(
        source(fake, { onWarning: (w) => warnings.push(w) }),
        counting,
      );
      // Before: `from=` went out empty, which a server reads as no `from`: the room was read again
      // from its first page until the loop guard failed it.
      expect(fake.messageRequests().filter((r) => r.params['from'] === '')).toEqual([]);
      expect(run.unit('rooms/#blank:localhost')?.error).toBeNull();
      expect(result).toMatchObject({ completed: 1, failed: 0 });
      expect(counting.deliveries.size).toBe(12);
      expect([...counting.deliveries.values()].every((n) => n === 1)).toBe(true);
      expect(warnings).toEqual([
        expect.objectContaining({
          code: 'blank-end',
          roomId: room.roomId,
          message: expect.stringContaining(`an end of ${_label}`),
        }),
      ]);
      // null is off-spec (a string or nothing); "" is a string, so only the fake's own checks differ.
      fake.violations.length = 0;
    },
  );

  it('takes end "" on a page with events as an end left out there: the page goes out, the room is complete', async () => {
    const room = roomWith('cut', 12);
    const fake = await serve(room);
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      reply: (_r, normal) => {
        const reply = normal();
        (reply.body as { end?: string }).end = '';
        return reply;
      },
    });
    const warnings: MatrixWarning[] = [];
    const sink = commentsSink();
    const { result } = await exportAll(source(fake, { onWarning: (w) => warnings.push(w) }), sink);
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect(bodies(sink)).toEqual(Array.from({ length: 10 }, (_, i) => `cut ${i}`));
    expect(fake.messageRequests().map((r) => r.params['from'] ?? 'none')).not.toContain('');
    expect(warnings.map((w) => w.code)).toEqual(['blank-end']);
  });
});

describe('a start or end that is not a token at all', () => {
  it.each([
    ['end', 42],
    ['end', true],
    ['end', ['t1']],
    ['start', 42],
    ['start', { token: 't1' }],
  ])(
    'fails the room with a MatrixPaginationError naming the room and %s (%j)',
    async (name, value) => {
      const room = roomWith('typed', 3);
      const fake = await serve(room);
      fake.inject({
        match: messages,
        times: 2,
        reply: (_r, normal) => {
          const reply = normal();
          (reply.body as Record<string, unknown>)[name] = value;
          return reply;
        },
      });
      const failure = await thrownBy(source(fake, { idMap: null }), 'rooms/#typed:localhost');
      // Before: an end of another type failed as a MatrixRequestError of an encoded URL
      // (!typedRoom%3Alocalhost); a start of another type was not looked at.
      expect(failure).toBeInstanceOf(MatrixPaginationError);
      expect(failure).toMatchObject({ roomId: room.roomId, retryable: false });
      expect((failure as Error).message).toMatch(
        new RegExp(
          `^room !typedRoom:localhost: /messages gave an? ${name} that is not a token \\(`,
        ),
      );
      fake.violations.length = 0;
    },
  );
});

describe('/context tokens that are an empty string', () => {
  it('fails a resume whose refused token /context replaces with end "", instead of reading the room again from its start', async () => {
    const room = roomWith('ctx', 8);
    const fake = await serve(room);
    const key = 'rooms/#ctx:localhost';
    const fifth = room.events.filter((e) => e.type === 'm.room.message')[4]!.event_id;
    const store = await stoppedAt(key, {
      roomId: room.roomId,
      from: 's_expired_1',
      held: [],
      last: fifth,
    });
    fake.inject({
      match: (r) => messages(r) && r.params['from'] === 's_expired_1',
      reply: () => error(400, 'M_INVALID_PARAM', 'Invalid from parameter'),
    });
    fake.inject({
      match: (r) => r.operation === 'getEventContext',
      reply: (_r, normal) => {
        const reply = normal();
        (reply.body as { end?: string }).end = '';
        return reply;
      },
    });
    const counting = countingSink();
    const { run: again, result } = await exportAll(source(fake, { pageSize: 3 }), counting, {
      store,
    });
    // Before: `from=` went out empty and m0 to m4, exported before the stop, went out again.
    expect(fake.messageRequests().map((r) => r.params['from'] ?? 'none')).not.toContain('');
    expect(counting.deliveries.size).toBe(0);
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(again.unit(key)?.error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(
        /^room !ctxRoom:localhost: the homeserver refused the pagination token stored in the checkpoint .* gave no end token/,
      ),
    });
  });
});

describe('/context of m.room.create with start "" on a server before Matrix v1.3', () => {
  const legacy = homeserverPerTest({ legacyForwardWithoutFrom: true });

  it('fails the room instead of paging from= (the present) and calling an unread room complete', async () => {
    const room = roomWith('old', 4);
    const fake = await legacy.serve(room);
    fake.inject({
      match: (r) => r.operation === 'getEventContext',
      reply: (_r, normal) => {
        const reply = normal();
        (reply.body as { start?: string }).start = '';
        return reply;
      },
    });
    const sink = commentsSink();
    const { run, result } = await exportAll(source(fake), sink);
    // Before: from= read as the present gave nothing, and the room was completed with nothing.
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(run.unit('rooms/#old:localhost')?.error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/^room !oldRoom:localhost: .*gave no start token/),
    });
    expect(fake.messageRequests().map((r) => r.params['from'] ?? 'none')).not.toContain('');
  });
});

describe('a token the server handed out, refused on the very next request', () => {
  it.each([
    [400, 'M_INVALID_PARAM'],
    [400, 'M_UNKNOWN'],
    [404, 'M_UNKNOWN'],
    [404, 'M_INVALID_PARAM'],
  ])(
    'fails the room with a retryable MatrixPaginationError on %i %s, never echoing the token; the rerun reads on',
    async (status, errcode) => {
      const room = roomWith('own', 12);
      const fake = await serve(room);
      const refused: string[] = [];
      // A token with `/`, `+` and `=` in it, as base64 ones have: it travels percent-encoded.
      fake.inject({
        match: (r) => messages(r) && r.params['from'] === undefined,
        reply: (_r, normal) => {
          const reply = normal();
          const body = reply.body as { end: string };
          body.end = room.aliasToken(room.positionOf(body.end)!, 'c2Vj/cmV0+dG9r=');
          return reply;
        },
      });
      fake.inject({
        match: (r) => messages(r) && r.params['from'] !== undefined,
        reply: (r) => {
          refused.push(r.params['from']!);
          // A server that quotes the token, URL-encoded as it came in the query.
          return error(
            status,
            errcode,
            `Unknown pagination token ${encodeURIComponent(r.params['from']!)}`,
          );
        },
      });
      const warnings: MatrixWarning[] = [];
      const counting = countingSink();
      const src = source(fake, { onWarning: (w) => warnings.push(w) });
      const store = memoryStore(new MemoryStorage());
      const { run, result } = await exportAll(src, counting, { store });
      expect(result).toMatchObject({ completed: 0, failed: 1 });
      const key = 'rooms/#own:localhost';
      const failure = run.unit(key)?.error;
      // Before: "GET .../messages failed: 400 M_INVALID_PARAM: ..." with nothing about the token.
      expect(failure).toMatchObject({
        retryable: true,
        cause: { status, errcode },
        message: expect.stringMatching(
          new RegExp(
            `^room !ownRoom:localhost: the homeserver refused a pagination token it had handed out itself .*\\(${status} ${errcode}: Unknown pagination token <redacted>\\)`,
          ),
        ),
      });
      const [token] = refused;
      expect(token).toContain('/cmV0+');
      const everything =
        failure?.message + JSON.stringify(failure?.cause) + JSON.stringify(warnings);
      expect(everything).not.toContain(token!);
      expect(everything).not.toContain(encodeURIComponent(token!));
      await run.close();

      // The fault is spent: the next run resumes from the checkpoint and reads the rest, once.
      const { result: rerun } = await exportAll(src, counting, { store });
      expect(rerun).toMatchObject({ completed: 1, failed: 0 });
      expect(counting.deliveries.size).toBe(12);
      expect([...counting.deliveries.values()].every((n) => n === 1)).toBe(true);
    },
  );

  it('throws a MatrixPaginationError, not the bare request error', async () => {
    const room = roomWith('bare', 6);
    const fake = await serve(room);
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      reply: () => error(400, 'M_INVALID_PARAM', 'Invalid from parameter'),
    });
    const failure = await thrownBy(source(fake, { idMap: null }), 'rooms/#bare:localhost');
    expect(failure).toBeInstanceOf(MatrixPaginationError);
    expect(failure).toMatchObject({
      roomId: room.roomId,
      retryable: true,
      failureCause: { status: 400, errcode: 'M_INVALID_PARAM' },
    });
  });

  it('still fails a filter the server refuses (400 M_BAD_JSON) as the request error it is', async () => {
    const room = roomWith('filter', 6);
    const fake = await serve(room);
    fake.inject({
      match: (r) => messages(r) && r.params['from'] !== undefined,
      reply: () => error(400, 'M_BAD_JSON', 'Bad filter'),
    });
    const failure = await thrownBy(source(fake, { idMap: null }), 'rooms/#filter:localhost');
    expect(failure).not.toBeInstanceOf(MatrixPaginationError);
    expect(failure).toMatchObject({ status: 400, errcode: 'M_BAD_JSON', retryable: false });
  });
});
