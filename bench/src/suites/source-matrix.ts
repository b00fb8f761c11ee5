/**
 * Matrix source: what folding, reply holding and checkpointing add to reading a room, and what a
 * resume after a crash saves. Served by the package's fake homeserver on 127.0.0.1 (no latency).
 */
import {
  always,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Sink,
} from '@checkpointkit/core';
import { type MatrixMessage, matrixSource } from '@checkpointkit/source-matrix';
import { FakeHomeserver, FakeRoom } from '@checkpointkit/source-matrix/testing';
import { note, report, type Suite, timeMedian } from '../lib.js';

const TOKEN = 'bench-token';
const MESSAGES = 3000;
const PAGE = 100;

function room(): FakeRoom {
  const r = new FakeRoom({
    roomId: '!bench:localhost',
    aliases: ['#bench:localhost'],
    userId: '@b:localhost',
    style: 'spec-1.7',
  });
  r.createDefaults();
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    if (i > 10 && i % 3 === 0) ids.push(r.reply(ids[i - 1 - (i % 7)]!, `reply ${i}`));
    else if (i > 10 && i % 17 === 0) ids.push(r.thread(ids[i - 5]!, `thread ${i}`));
    else ids.push(r.message(`message ${i}`));
    if (i % 50 === 7) r.edit(ids[i]!, `edited ${i}`);
  }
  return r;
}

const mappingSink = (): Sink<MatrixMessage> => {
  let next = 0;
  return {
    write: (items) => ({
      idMappings: items.map((m) => ({ map: 'matrix-event', source: m.eventId, target: ++next })),
    }),
  };
};

async function exportRoom(
  server: FakeHomeserver,
  storage = new MemoryStorage(),
  store = memoryStore(storage),
) {
  const source = matrixSource({
    homeserverUrl: server.url,
    accessToken: TOKEN,
    rooms: ['#bench:localhost'],
    pageSize: PAGE,
  });
  const run = await openRun({
    id: 'bench:matrix',
    store,
    strategy: always(),
    signals: false,
    autoCleanup: false,
  });
  await pipeline({ run, source, sink: mappingSink() }).catch(() => {});
  return run;
}

/** The baseline: the same /messages pages, fetched and parsed, nothing else. */
async function rawPages(server: FakeHomeserver): Promise<number> {
  let from: string | undefined;
  let events = 0;
  const filter = JSON.stringify({ types: ['m.room.message'], lazy_load_members: true });
  for (;;) {
    const url = new URL(
      `${server.url}/_matrix/client/v3/rooms/${encodeURIComponent('!bench:localhost')}/messages`,
    );
    url.searchParams.set('dir', 'f');
    url.searchParams.set('limit', String(PAGE));
    if (from) url.searchParams.set('from', from);
    url.searchParams.set('filter', filter);
    const body = (await (
      await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as {
      chunk: unknown[];
      end?: string;
    };
    events += body.chunk.length;
    if (!body.end) return events;
    from = body.end;
  }
}

const suite: Suite = {
  name: 'source-matrix',
  async run() {
    const server = await new FakeHomeserver({
      accessToken: TOKEN,
      rooms: [room()],
      legacyForwardWithoutFrom: false,
    }).start();
    try {
      const raw = await timeMedian(() => rawPages(server), 5);
      const full = await timeMedian(async () => (await exportRoom(server)).close(), 5);
      report({
        what: `export of a ${MESSAGES}-message room (1/3 replies, threads, edits), pages of ${PAGE}, saved after every page`,
        subject: { label: 'matrixSource + pipeline + memory store', value: full, unit: 'ms' },
        baseline: { label: 'fetch + JSON.parse of the same pages', value: raw, unit: 'ms' },
        kind: 'overhead',
        goal: 3,
      });

      // A crash at about 90%: the store stops acknowledging, then a new run resumes.
      const storage = new MemoryStorage();
      const inner = memoryStore(storage);
      let writes = 0;
      const crashAfter = Math.floor((MESSAGES / PAGE) * 0.9);
      const dying = {
        ...inner,
        append: async (id: string, changes: Parameters<typeof inner.append>[1]) => {
          if (changes.some((c) => c.type === 'unit.progressed')) writes += 1;
          if (writes > crashAfter) throw new Error('crash');
          return inner.append(id, changes);
        },
      };
      const crashed = await exportRoom(server, storage, dying);
      await crashed.abandon();
      const before = server.requests.length;
      await (await exportRoom(server, storage)).close();
      const resumed = server.requests.filter(
        (r, i) => i >= before && r.operation === 'getRoomEvents',
      ).length;
      const start = server.requests.length;
      await (await exportRoom(server)).close();
      const scratch = server.requests.filter(
        (r, i) => i >= start && r.operation === 'getRoomEvents',
      ).length;
      report({
        what: 'requests to finish a room after a crash at ~90% of it',
        subject: { label: 'resume from the saved end token', value: resumed, unit: 'requests' },
        baseline: { label: 'start the room over', value: scratch, unit: 'requests' },
        kind: 'cheaper',
        goal: 5,
      });
      note('pages read per room', `${scratch} (${MESSAGES} messages, limit ${PAGE})`);
    } finally {
      await server.stop();
    }
  },
};

export default suite;
