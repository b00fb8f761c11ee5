/**
 * The recorded Synapse 1.67 traffic: the fake homeserver answers every recorded request the way
 * Synapse did, and the source, pointed at it, makes the requests the recording shows and exports
 * the recorded room correctly (edit folded, redaction kept as a tombstone, reply and thread).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type MatrixMessage, type MatrixWarning, matrixSource } from '../../src/index.js';
import { commentsSink, exportAll, fakeSleep, parentsOf } from '../support/harness.js';
import { checkedHomeserver, type FakeHomeserver, spec } from '../support/homeserver.js';
import { loadRecording, RECORDED_TOKEN, recordedRoom } from '../support/recording.js';

const recording = loadRecording();
let server: FakeHomeserver | undefined;
afterEach(async () => {
  expect(server?.violations ?? []).toEqual([]);
  await server?.stop();
  server = undefined;
});

async function start(options: { legacy?: boolean } = {}): Promise<FakeHomeserver> {
  server = await checkedHomeserver({
    accessToken: RECORDED_TOKEN,
    rooms: [recordedRoom(recording)],
    legacyForwardWithoutFrom: options.legacy ?? true,
  }).start();
  return server;
}

/** Without the `age` fields (they grow with time) and with state lists in a fixed order. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(comparable);
    return items.every((i) => i && typeof i === 'object' && 'event_id' in i)
      ? [...items].sort((a, b) =>
          (a as { event_id: string }).event_id < (b as { event_id: string }).event_id ? -1 : 1,
        )
      : items;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'age')
        .map(([key, v]) => [
          key,
          key === 'chunk' ? (v as unknown[]).map(comparable) : comparable(v),
        ]),
    );
  }
  return value;
}

const alias = () => {
  const created = recording.exchanges.find((e) => e.request.path.endsWith('/createRoom'))!;
  return (created.response.body as { room_alias: string }).room_alias;
};

describe('the recorded Synapse 1.67 exchanges', () => {
  const gets = recording.exchanges
    .map((exchange, index) => ({ exchange, index }))
    .filter(
      ({ exchange }) =>
        exchange.request.method === 'GET' && !exchange.request.path.includes('/relations/'),
    );

  it('covers alias resolution, /state, /context, /messages both ways and the errors', () => {
    const operations = new Set(
      gets.map(
        ({ exchange }) =>
          spec().checkRequest('GET', new URL(exchange.request.path, 'http://127.0.0.1'), undefined)
            .operation?.id,
      ),
    );
    expect(gets.length).toBeGreaterThanOrEqual(15);
    expect([...operations]).toEqual(
      expect.arrayContaining([
        'getRoomIdByAlias',
        'getRoomState',
        'getEventContext',
        'getRoomEvents',
      ]),
    );
    expect(gets.map(({ exchange }) => exchange.response.status)).toEqual(
      expect.arrayContaining([200, 400, 401, 403, 404]),
    );
  });

  it.each(
    gets.map(
      ({ exchange, index }) => [index, exchange.request.path.slice(0, 90), exchange] as const,
    ),
  )('exchange %i (%s) is answered as Synapse answered it', async (_index, _path, exchange) => {
    const fake = await start();
    const reply = fake.answer('GET', exchange.request.path, exchange.request.auth ?? undefined);
    expect(reply.status).toBe(exchange.response.status);
    expect(comparable(reply.body)).toEqual(comparable(exchange.response.body));
  });

  it('pass the spec checks: every recorded request and response conforms', async () => {
    const fake = await start();
    for (const { exchange } of gets)
      fake.answer('GET', exchange.request.path, exchange.request.auth ?? undefined);
    expect(fake.violations).toEqual([]);
  });
});

describe('exporting the recorded room', () => {
  it('makes the requests the recording shows: /state, /context of m.room.create, then forward pages', async () => {
    const fake = await start({ legacy: true });
    const warnings: MatrixWarning[] = [];
    const source = matrixSource({
      homeserverUrl: fake.url,
      accessToken: RECORDED_TOKEN,
      rooms: [alias()],
      pageSize: 7,
      filter: null,
      onWarning: (w) => warnings.push(w),
    });
    const sink = commentsSink();
    const { result } = await exportAll(source, sink);
    expect(result).toMatchObject({ completed: 1, failed: 0 });

    const recorded = recording.exchanges
      .filter(
        (e) =>
          e.request.method === 'GET' && /\/(directory|state|context|messages)/.test(e.request.path),
      )
      .map((e) => e.request.path)
      .filter(
        (path) =>
          path.includes('dir=f') ||
          path.endsWith('/state') ||
          path.endsWith('?limit=0') ||
          path.includes('%23room'),
      );
    // The source first asks dir=f without `from`; Synapse 1.67 answers that with nothing.
    const made = fake.requests.map((r) => r.path);
    expect(made[0]).toBe(recorded[0]); // alias resolution
    expect(made[1]).toMatch(/\/messages\?dir=f&limit=7$/);
    expect(made.slice(2)).toEqual(recorded.slice(1));
    expect(warnings.map((w) => w.code)).toEqual(['start-fallback']);
  });

  it('exports the 27 messages: the edit folded in, the redaction a tombstone, the reply and thread linked', async () => {
    const fake = await start({ legacy: true });
    const source = matrixSource({
      homeserverUrl: fake.url,
      accessToken: RECORDED_TOKEN,
      rooms: [alias()],
      pageSize: 7,
    });
    const seen: MatrixMessage[] = [];
    const sink = commentsSink();
    const { run } = await exportAll(source, {
      write: (items, context) => {
        for (const item of items) seen.push({ ...(item as unknown as MatrixMessage) });
        return sink.write(items, context);
      },
    });
    const bodies = [...sink.comments.values()].map((c) => c.body);
    expect(bodies).toHaveLength(27);
    expect(bodies).toContain('msg 7 edited');
    expect(bodies).not.toContain('* msg 7 edited');
    expect(bodies.filter((b) => b === null)).toHaveLength(1); // msg 9, redacted

    const sent = (body: string) => {
      const send = recording.exchanges.find(
        (e) => (e.request.body as { body?: string } | null)?.body === body,
      )!;
      return (send.response.body as { event_id: string }).event_id;
    };
    const byEvent = new Map([...sink.comments.values()].map((c) => [c.eventId, c]));
    expect(byEvent.get(sent('msg 9'))).toMatchObject({ redacted: true, body: null });
    expect(byEvent.get(sent('reply to 3'))).toMatchObject({ parentEventId: sent('msg 3') });
    expect(byEvent.get(sent('thread msg'))).toMatchObject({ parentEventId: sent('msg 5') });
    const parents = parentsOf(sink);
    expect(parents.get(sent('reply to 3'))?.body).toBe('msg 3');
    expect(parents.get(sent('thread msg'))?.body).toBe('msg 5');
    expect(source.unresolved(run)).toEqual([]);
    await run.finish();
  });

  it('reads the same messages from a server that supports dir=f without from, in fewer requests', async () => {
    const fake = await start({ legacy: false });
    const source = matrixSource({
      homeserverUrl: fake.url,
      accessToken: RECORDED_TOKEN,
      rooms: [alias()],
      pageSize: 7,
      sleep: fakeSleep().sleep,
    });
    const sink = commentsSink();
    await exportAll(source, sink);
    expect(sink.comments.size).toBe(27);
    expect(
      fake.requests.some(
        (r) => r.operation === 'getRoomState' || r.operation === 'getEventContext',
      ),
    ).toBe(false);
  });

  it('finds the same comments with or without a filter', async () => {
    const results: string[][] = [];
    for (const filter of [null, undefined]) {
      const fake = await start();
      const sink = commentsSink();
      await exportAll(
        matrixSource({
          homeserverUrl: fake.url,
          accessToken: RECORDED_TOKEN,
          rooms: [alias()],
          pageSize: 4,
          ...(filter === null && { filter }),
        }),
        sink,
      );
      results.push([...sink.comments.values()].map((c) => `${c.eventId} ${c.body}`));
      expect(fake.violations).toEqual([]);
      await fake.stop();
      server = undefined;
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toHaveLength(27);
  });
});
