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
import { appendFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  anyOf,
  type CheckpointSummary,
  everyMs,
  everyUnits,
  type IdMapping,
  type MappedId,
  openRun,
  type PipelineEvent,
  pipeline,
} from '@checkpointkit/core';
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
 * The comments API stand-in: a JSON Lines file. It knows the Matrix event of every comment, so a
 * page imported again after a crash gets the ids it already has instead of duplicates.
 */
export class CommentsFile {
  readonly #byEvent = new Map<string, number>();
  private constructor(readonly file: string) {}

  static async open(file: string): Promise<CommentsFile> {
    const comments = new CommentsFile(file);
    for (const comment of await readComments(file)) {
      comments.#byEvent.set(comment.matrixEventId, comment.id);
    }
    return comments;
  }

  async import(comments: readonly Omit<StoredComment, 'id'>[]): Promise<IdMapping[]> {
    const mappings: IdMapping[] = [];
    let lines = '';
    for (const comment of comments) {
      let id = this.#byEvent.get(comment.matrixEventId);
      if (id === undefined) {
        id = this.#byEvent.size + 1;
        this.#byEvent.set(comment.matrixEventId, id);
        lines += `${JSON.stringify({ id, ...comment })}\n`;
      }
      mappings.push({ map: 'matrix-event', source: comment.matrixEventId, target: id });
    }
    await mkdir(dirname(this.file), { recursive: true });
    if (lines) await appendFile(this.file, lines);
    return mappings;
  }
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
      strategy: anyOf(everyUnits(1), everyMs(1000)),
      // signals: true is the default: Ctrl+C saves, marks the run interrupted and exits 130.
    });
    log(
      run.resumed
        ? `Resuming migration from checkpoint: ${run.summary().counts.complete} pages already completed`
        : 'Starting new migration',
    );

    const comments = await CommentsFile.open(join(dir, 'comments.jsonl'));
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
      // The new ids go into the checkpoint with the page's cursor, in the same flush.
      sink: { write: async (items) => ({ idMappings: await comments.import(items) }) },
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
  }
}

if (isMain(import.meta.url)) {
  // A fixed place, so that a second run resumes what Ctrl+C stopped.
  const dir = process.env['RECIPE_DIR'] ?? join(tmpdir(), 'checkpointkit-recipe-001');
  const latencyMs = Number(process.env['RECIPE_LATENCY_MS'] ?? 150);
  const outcome = await main({ dir, latencyMs });
  process.exitCode = outcome.exitCode;
}
