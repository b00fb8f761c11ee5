/**
 * Recipe for seed 001: the full comment migration run (Matrix rooms into a comments API), done
 * with CheckpointKit.
 *
 * The seed's hand-written loop (skip completed pages, retry failed ones, resolve reply parents
 * through the id map, update statistics, mark pages complete or failed, catch Ctrl+C and exit
 * 130, keep the checkpoint when pages failed) becomes one `pipeline()` over `matrixSource`: one
 * unit per room, resumed at the page after the last one the sink accepted, replies held back
 * until their parent has its new id. `openRun` saves and exits 130 on Ctrl+C by itself.
 *
 *   pnpm --filter checkpointkit-example-recipes seed-001      (Ctrl+C it, then run it again)
 *
 * Offline: it serves the rooms from the fake homeserver of @checkpointkit/source-matrix/testing.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CheckpointSummary,
  type IdMapping,
  type MappedId,
  openRun,
  type PipelineEvent,
  pipeline,
  type Sink,
} from '@checkpointkit/core';
import { jsonLinesSink } from '@checkpointkit/sink-file';
import {
  type MatrixMessage,
  matrixSource,
  resolveParent,
  type UnresolvedReply,
} from '@checkpointkit/source-matrix';
import { error, FakeHomeserver, FakeRoom } from '@checkpointkit/source-matrix/testing';
import { fileStore } from '@checkpointkit/storage-file';
import { isMain } from './is-main.js';

const TOKEN = 'recipe-token';
/** One room per page section, found by alias, as in seed 001. */
export const ROOMS = ['#blog_hello:localhost', '#docs_install:localhost', '#news_v2:localhost'];

/** A comment as the comments API stores it. */
export interface StoredComment {
  id: number;
  matrixEventId: string;
  page: string;
  body: string | null;
  parentId: MappedId | null;
}

/**
 * The comments API stand-in: a JSON Lines file written by `jsonLinesSink`, so exactly once (a
 * page's byte offset is saved with its cursor, and a resume cuts the file back to it before the
 * first write). Each new comment gets the next id; a Matrix event that already has a comment
 * gets its id back, so the ids stay stable whatever is read again.
 */
export function commentsSink(file: string): Sink<Omit<StoredComment, 'id'>> {
  const lines = jsonLinesSink<StoredComment>({ path: file });
  const byEvent = new Map<string, number>();
  return {
    async open(context) {
      await lines.open?.(context); // cut back to what the checkpoint acknowledged
      byEvent.clear();
      for (const comment of await readComments(file))
        byEvent.set(comment.matrixEventId, comment.id);
    },
    async write(comments, context) {
      const idMappings: IdMapping[] = [];
      const created: StoredComment[] = [];
      for (const comment of comments) {
        let id = byEvent.get(comment.matrixEventId);
        if (id === undefined) {
          id = byEvent.size + 1;
          byEvent.set(comment.matrixEventId, id);
          created.push({ id, ...comment });
        }
        idMappings.push({ map: 'matrix-event', source: comment.matrixEventId, target: id });
      }
      const written = await lines.write(created, context);
      // The ids and the file's offset are saved with the page's cursor, in the same flush.
      return { idMappings, ...(written?.meta && { meta: written.meta }) };
    },
    close: () => lines.close?.(),
  };
}

export async function readComments(file: string): Promise<StoredComment[]> {
  const text = await readFile(file, 'utf8').catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return '';
    throw cause;
  });
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StoredComment);
}

/** The demo site's rooms: messages, replies across pages, a thread. */
export function demoRooms(): FakeRoom[] {
  return ROOMS.map((alias, index) => {
    const room = new FakeRoom({
      roomId: `!room${index}:localhost`,
      aliases: [alias],
      userId: '@admin:localhost',
    }).createDefaults(alias.slice(1, alias.indexOf(':')));
    const first = room.message(`First comment on ${alias}`);
    for (let n = 1; n <= 6; n++) room.message(`Comment ${n}`, { sender: '@reader:localhost' });
    const reply = room.reply(first, 'A reply to the first comment');
    room.reply(reply, 'A reply to the reply');
    room.thread(first, 'In the thread of the first comment');
    return room;
  });
}

export interface Seed001Options {
  /** Where the checkpoint (`.checkpoints/`) and the comments file go. Default: a new temp dir. */
  dir?: string;
  /** Milliseconds each homeserver answer takes, to leave time for Ctrl+C. */
  latencyMs?: number;
  /** The docs room answers its first request with 403, as a room the bot is not in yet would. */
  forbidDocsOnce?: boolean;
  /** Progress lines go here. Default console.log. */
  log?: (line: string) => void;
}

export interface Seed001Outcome {
  /** 0 when every room migrated (checkpoint cleared), 1 when some failed (checkpoint kept). */
  exitCode: number;
  resumed: boolean;
  summary: CheckpointSummary;
  cleared: boolean;
  unresolved: UnresolvedReply[];
  commentsFile: string;
}

/** One migration run, as seed 001's `main()`. */
export async function main(options: Seed001Options = {}): Promise<Seed001Outcome> {
  const log = options.log ?? console.log;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'recipe-001-')));
  const started = Date.now();
  const server = new FakeHomeserver({
    accessToken: TOKEN,
    rooms: demoRooms(),
    latencyMs: options.latencyMs ?? 0,
  });
  if (options.forbidDocsOnce) {
    server.inject({
      match: (request) =>
        request.params['roomAlias'] === '#docs_install:localhost' ||
        request.params['roomId'] === '!room1:localhost',
      reply: () => error(403, 'M_FORBIDDEN', 'You are not invited to this room.'),
    });
  }
  await server.start();

  try {
    const source = matrixSource({
      homeserverUrl: server.url,
      accessToken: TOKEN,
      rooms: ROOMS,
      pageSize: 4,
    });
    const run = await openRun({
      id: 'comment-migration',
      store: fileStore({ dir: join(dir, '.checkpoints') }),
      config: { rooms: ROOMS, pageSize: 4 }, // the token never goes into the config
      // No strategy: the default saves after every page and every room. What a crash costs:
      // the page in flight is read again (one request), and the comments API gives its
      // comments the ids they already have.
      // signals: true is the default: Ctrl+C saves, marks the run interrupted and exits 130.
    });
    log(
      run.resumed
        ? `Resuming migration from checkpoint: ${run.summary().counts.complete} pages already completed`
        : 'Starting new migration',
    );

    const result = await pipeline({
      run,
      source,
      // Reply parents resolve through the id map (replies wait in the source until they can).
      transform: (messages: readonly MatrixMessage[], { unit }) =>
        messages.map((message) => ({
          matrixEventId: message.eventId,
          page: unit,
          body: message.body,
          parentId: resolveParent(message, run),
        })),
      sink: commentsSink(join(dir, 'comments.jsonl')),
      retryFailed: true, // seed 001 retries every failed page, not only retryable ones
      onProgress: (event) => log(progressLine(event)),
    });

    const unresolved = source.unresolved(run);
    const { summary, deleted } = await run.finish(); // kept when a room failed
    const { total, counts, stats, idMaps } = summary;
    log('='.repeat(60));
    log(`Total pages: ${total}`);
    log(`Completed: ${counts.complete}`);
    log(`Failed: ${counts.failed}`);
    log(`Comments imported: ${summary.items.done} (${result.items} in this run)`);
    log(
      `ID mappings: ${idMaps['matrix-event'] ?? 0}, id-map conflicts: ${stats['idMapConflicts'] ?? 0}`,
    );
    log(`Replies whose parent was never imported: ${unresolved.length}`);
    log(`Duration: ${((Date.now() - started) / 1000).toFixed(2)}s`);
    log(deleted ? 'All pages migrated, checkpoint cleared' : 'Checkpoint preserved for recovery');
    return {
      exitCode: deleted ? 0 : 1,
      resumed: run.resumed,
      summary,
      cleared: deleted,
      unresolved,
      commentsFile: join(dir, 'comments.jsonl'),
    };
  } finally {
    await server.stop();
  }
}

function progressLine(event: PipelineEvent): string {
  switch (event.type) {
    case 'planned':
      return `planned ${event.units} pages, ${event.pending} to do`;
    case 'unit-started':
      return `page ${event.key}: started`;
    case 'page':
      return `page ${event.key}: ${event.done} comments`;
    case 'unit-completed':
      return `page ${event.key}: done, ${event.done} comments`;
    case 'unit-failed':
      return `page ${event.key}: failed (${event.retryable ? 'retryable' : 'not retryable'}): ${event.message}`;
    case 'unit-taken-over':
      return `page ${event.key}: taken over by another worker`;
  }
}

if (isMain(import.meta.url)) {
  // A fixed place, so that a second run resumes what Ctrl+C stopped.
  const dir = process.env['RECIPE_DIR'] ?? join(tmpdir(), 'checkpointkit-recipe-001');
  const latencyMs = Number(process.env['RECIPE_LATENCY_MS'] ?? 150);
  const outcome = await main({ dir, latencyMs });
  process.exitCode = outcome.exitCode;
}
