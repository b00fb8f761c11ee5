/**
 * The demo site: one Matrix room per page section, found by alias `#<section>_<page>:localhost`,
 * served by an in-process homeserver on 127.0.0.1. One room is the room recorded from a real
 * Synapse 1.67 (edits, a redaction, a reply, a thread); the others are built in the same shapes.
 */
import { readFileSync } from 'node:fs';
import {
  FakeHomeserver,
  FakeRoom,
  type Recording,
  recordedRoom,
} from '@checkpointkit/source-matrix/testing';

export const DEMO_TOKEN = 'demo-access-token';
const SERVER = 'localhost';

/** The page a room belongs to: `#blog_hello-world:server` is page `blog/hello-world`. */
export function pageIdOf(room: string): string {
  const local = room.replace(/^[#!]/, '').split(':')[0] ?? room;
  return local.replace('_', '/');
}

function loadRecording(): Recording {
  const file = new URL(
    '../../../packages/source-matrix/test/fixtures/matrix-recordings/synapse-1.67-smoke.json',
    import.meta.url,
  );
  return JSON.parse(readFileSync(file, 'utf8')) as Recording;
}

function room(page: string, userId: string): FakeRoom {
  const alias = `#${page.replace('/', '_')}:${SERVER}`;
  return new FakeRoom({
    roomId: `!${page.replace(/\W/g, '')}:${SERVER}`,
    aliases: [alias],
    userId,
  }).createDefaults(page);
}

/** The rooms of the demo site. */
export function siteRooms(): FakeRoom[] {
  const admin = `@admin:${SERVER}`;
  const [ana, ben, caro] = [`@ana:${SERVER}`, `@ben:${SERVER}`, `@caro:${SERVER}`];

  const blog = room('blog/hello-world', admin);
  for (const user of [ana, ben, caro]) blog.join(user);
  const first = blog.message('Great first post!', { sender: ana });
  const thanks = blog.reply(first, 'Thanks Ana, glad you liked it.', { fallback: true });
  blog.reply(thanks, 'Looking forward to the next one.', { sender: ana });
  const question = blog.message('Will there be an RSS feed?', { sender: ben });
  blog.reply(question, 'Yes, next week.', { fallback: true });
  blog.edit(question, 'Will there be an RSS or Atom feed?', { sender: ben });
  for (let i = 1; i <= 8; i++) blog.message(`Comment number ${i}`, { sender: i % 2 ? caro : ana });
  const spam = blog.message('Buy cheap watches at ...', { sender: caro });
  blog.redact(spam, 'spam');
  const threadRoot = blog.message('A thread about the theme colours', { sender: ben });
  blog.thread(threadRoot, 'I like the dark one', { sender: ana });
  blog.thread(threadRoot, 'Light for me', { sender: caro });
  blog.react(first, '👍');

  const docs = room('docs/install', admin);
  docs.join(ana);
  let previous = docs.message('Installation fails on Windows with EPERM', { sender: ana });
  for (let i = 1; i <= 9; i++) {
    previous = docs.reply(
      previous,
      i % 2 ? `Which Node version? (${i})` : `Node 20, still failing (${i})`,
      {
        sender: i % 2 ? admin : ana,
      },
    );
  }
  docs.message('Fixed in 1.2.1, thanks for the report.');

  const about = room('about', admin);
  about.join(ben);
  about.message('Who runs this site?', { sender: ben });
  about.message('A small team of volunteers.');
  // A reply to a message that is not part of this room's history: reported at the end.
  about.reply('$deletedBeforeTheMigration', 'As I said before...', { sender: ben });

  return [recordedRoom(loadRecording()), blog, docs, about];
}

/** Starts the demo homeserver; each answer takes `latencyMs`, and the blog room rate-limits once. */
export async function startDemoHomeserver(
  latencyMs: number,
): Promise<{ server: FakeHomeserver; rooms: string[] }> {
  const rooms = siteRooms();
  const server = new FakeHomeserver({
    accessToken: DEMO_TOKEN,
    rooms,
    latencyMs,
    legacyForwardWithoutFrom: true,
  });
  const blogId = rooms[1]!.roomId;
  server.inject({
    match: (r) =>
      r.operation === 'getRoomEvents' &&
      r.params['roomId'] === blogId &&
      r.params['from'] !== undefined,
    reply: () => ({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 1000 },
    }),
  });
  await server.start();
  return { server, rooms: rooms.map((r) => r.aliases[0]!) };
}
