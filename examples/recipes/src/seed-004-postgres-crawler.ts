/**
 * Recipe for seed 004: the crawler's PostgreSQL checkpoint store, done with CheckpointKit.
 *
 * `postgresStore({ schema: 'crawler' })` gives the seed's dedicated schema, its checkpoint rows
 * (here one unit per user, the cursor being the last tweet id, `done` the bookmarks count, and
 * `updated_at` kept by the database) and its session table (one row per run: running, completed,
 * stopped or failed, with counts, options and error), created by numbered idempotent migrations
 * under an advisory lock, from `DATABASE_URL`, through a connection pool. `transactionalSink`
 * commits each page's rows together with the page's cursor: a crawl stopped at any moment and
 * run again imports every bookmark exactly once.
 *
 *   DATABASE_URL=postgres://... pnpm --filter checkpointkit-example-recipes seed-004
 *   pnpm --filter checkpointkit-example-recipes seed-004      (starts a throwaway PostgreSQL cluster)
 */
import { type Json, openRun, pipeline, type Source } from '@checkpointkit/core';
import {
  postgresStore,
  quoteIdentifier,
  type SessionRecord,
  startTestCluster,
  transactionalSink,
} from '@checkpointkit/storage-postgres';
import { isMain } from './is-main.js';

export const USERS = ['user123', 'user456', 'user789'];
const BOOKMARKS_PER_USER = 50;
const PAGE_SIZE = 20;

export interface Bookmark {
  userId: string;
  tweetId: string;
}

/**
 * The bookmarks API stand-in: a user's bookmarks by ascending tweet id, a page at a time after
 * the last tweet id seen (the seed's `last_tweet_id`).
 */
export function bookmarksSource(): Source<Bookmark> {
  return {
    units: () => USERS.map((user) => ({ key: `bookmarks/${user}`, total: BOOKMARKS_PER_USER })),
    async *read({ key, cursor }) {
      const userId = key.slice('bookmarks/'.length);
      const all = Array.from({ length: BOOKMARKS_PER_USER }, (_, i) => String(1_000_000 + i));
      let from = cursor === null ? 0 : all.indexOf(String(cursor)) + 1;
      while (from < all.length) {
        const page = all.slice(from, from + PAGE_SIZE);
        from += page.length;
        // The cursor is the last tweet id of the page: where the next read starts.
        yield { items: page.map((tweetId) => ({ userId, tweetId })), cursor: page.at(-1) as Json };
      }
    },
  };
}

export interface Seed004Options {
  /** A PostgreSQL URL. Default: DATABASE_URL, else a throwaway cluster started here. */
  connectionString?: string;
  /** The schema of the checkpoint tables and of the bookmarks table. Default `crawler`. */
  schema?: string;
}

export interface Seed004Outcome {
  /** One row per run, oldest first: the first stopped, the second completed. */
  sessions: Pick<SessionRecord, 'status' | 'itemsProcessed' | 'unitsCompleted' | 'options'>[];
  /** Each user's cursor (last tweet id) and bookmarks count, as the checkpoint holds them. */
  users: Record<string, { lastTweetId: Json; bookmarks: number }>;
  rows: number;
  distinctRows: number;
  migrationsApplied: number;
}

/** Crawls once; stops after `stopAfterPages` pages, as Ctrl+C or a crash would. */
async function crawl(
  store: ReturnType<typeof postgresStore>,
  table: string,
  stopAfterPages?: number,
): Promise<void> {
  // The default strategy. What a crash costs: the page in flight is fetched again; its rows
  // were never committed without its cursor, so none is inserted twice.
  const run = await openRun({ id: 'twitter:bookmarks', store, config: { pageSize: PAGE_SIZE } });
  // The page's rows are inserted in the transaction that also commits its cursor.
  const sink = transactionalSink<Bookmark>(async (client, bookmarks) => {
    await client.query(
      `INSERT INTO ${table} (user_id, tweet_id) SELECT * FROM unnest($1::text[], $2::text[])`,
      [bookmarks.map((b) => b.userId), bookmarks.map((b) => b.tweetId)],
    );
  });
  const stop = new AbortController();
  let pages = 0;
  const result = await pipeline({
    run,
    source: bookmarksSource(),
    sink,
    signal: stop.signal,
    onProgress: (event) => {
      if (event.type === 'page' && ++pages === stopAfterPages) stop.abort();
    },
  });
  if (result.aborted)
    await run.close(); // session "stopped"; the next run resumes
  else await run.finish({ cleanup: false }); // session "completed"; the cursors stay for next time
}

export async function main(options: Seed004Options = {}): Promise<Seed004Outcome> {
  const given = options.connectionString ?? process.env['DATABASE_URL'];
  const cluster = given ? null : await startTestCluster();
  const schema = options.schema ?? 'crawler';
  const store = postgresStore({
    connectionString: given ?? cluster!.url,
    schema,
    // Recorded in every session's options, as the seed's crawl_session columns.
    sessionOptions: { direct_import: true, enable_summarization: false, output_file_path: null },
  });
  try {
    const { applied } = await store.migrate(); // the seed's run_migration.sh; idempotent
    const table = `${quoteIdentifier(schema)}.bookmark_post`;
    await store.pool.query(`CREATE TABLE IF NOT EXISTS ${table} (user_id text, tweet_id text)`);

    await crawl(store, table, 4); // stopped after 4 pages
    await crawl(store, table); // resumes: the rest, nothing twice

    const checkpoint = await store.load('twitter:bookmarks');
    const users: Seed004Outcome['users'] = {};
    for (const [key, unit] of Object.entries(checkpoint?.units ?? {})) {
      users[key.slice('bookmarks/'.length)] = { lastTweetId: unit.cursor, bookmarks: unit.done };
    }
    const { rows } = await store.pool.query<{ rows: string; distinct: string }>(
      `SELECT count(*) AS rows, count(DISTINCT (user_id, tweet_id)) AS distinct FROM ${table}`,
    );
    return {
      sessions: (await store.sessions('twitter:bookmarks')).map((session) => ({
        status: session.status,
        itemsProcessed: session.itemsProcessed,
        unitsCompleted: session.unitsCompleted,
        options: session.options,
      })),
      users,
      rows: Number(rows[0]?.rows),
      distinctRows: Number(rows[0]?.distinct),
      migrationsApplied: applied.length,
    };
  } finally {
    await store.close();
    await cluster?.stop();
  }
}

if (isMain(import.meta.url)) {
  const outcome = await main();
  console.log(`migrations applied: ${outcome.migrationsApplied}`);
  const sessions = outcome.sessions.map(
    (s) => `${s.status} (${s.itemsProcessed} items, ${s.unitsCompleted} units)`,
  );
  console.log(`sessions: ${sessions.join(', ')}`);
  for (const [user, { lastTweetId, bookmarks }] of Object.entries(outcome.users)) {
    console.log(`${user}: last tweet id ${JSON.stringify(lastTweetId)}, ${bookmarks} bookmarks`);
  }
  console.log(`bookmark_post: ${outcome.rows} rows, ${outcome.distinctRows} distinct`);
}
