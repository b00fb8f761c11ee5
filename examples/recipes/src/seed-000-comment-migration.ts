/**
 * Recipe for seed 000: the comment migration's CheckpointManager, done with CheckpointKit.
 *
 * Pages are units (`pages/<page_id>`, the key seed 000's own files map to), a Matrix event's new
 * comment id goes into the id map `matrix-event`, counters replace the statistics, and
 * `run.finish()` clears the checkpoint only when no page failed. A checkpoint the Python manager
 * left on disk (`.migration_checkpoint.json`, version 1.0) is imported once and the migration goes
 * on from it: completed pages are skipped, failed ones retried, its id mappings resolve replies.
 *
 *   pnpm --filter checkpointkit-example-recipes seed-000
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CheckpointStore,
  type CheckpointSummary,
  checkpointToChanges,
  everyUnits,
  type MappedId,
  openRun,
  parseCheckpointJson,
  seed000PageKey,
} from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { isMain } from './is-main.js';

export const CHECKPOINT_ID = 'comment-migration';
export const ID_MAP = 'matrix-event';

/** A page of the site with the Matrix comments of its section, as the seed's extractor gives them. */
export interface Page {
  pageId: string;
  sectionId: string;
  comments: Comment[];
}

export interface Comment {
  eventId: string;
  body: string;
  /** The Matrix event this one replies to. */
  replyTo?: string;
}

/**
 * A stand-in for the comments API the seed imports into. Importing the same event for the same
 * page twice gives back the comment it already made (so a page redone after a crash makes no
 * duplicates); `failOnce` pages fail their first import, as a network timeout would.
 */
export class CommentsApi {
  readonly comments: { id: number; pageId: string; body: string; parentId: MappedId | null }[] = [];
  readonly #made = new Map<string, number>();
  readonly #failOnce: Set<string>;

  constructor(options: { firstId?: number; failOnce?: string[] } = {}) {
    this.#failOnce = new Set(options.failOnce);
    this.#next = options.firstId ?? 1;
  }
  #next: number;

  async create(pageId: string, comment: Comment, parentId: MappedId | null): Promise<number> {
    if (this.#failOnce.delete(pageId)) throw new Error(`POST /comments: timeout (page ${pageId})`);
    const key = `${pageId} ${comment.eventId}`;
    const known = this.#made.get(key);
    if (known !== undefined) return known;
    const id = this.#next++;
    this.#made.set(key, id);
    this.comments.push({ id, pageId, body: comment.body, parentId });
    return id;
  }
}

/**
 * Imports a checkpoint file that seed 000's manager wrote, unless the store has the checkpoint
 * already (under its lock, so that two imports cannot race). An empty, truncated or foreign file
 * is a `CheckpointFormatError` naming the file; the file itself is never changed.
 */
export async function importSeedCheckpoint(file: string, store: CheckpointStore): Promise<boolean> {
  const lock = await store.lock(CHECKPOINT_ID);
  try {
    if (await store.load(CHECKPOINT_ID)) return false;
    const { checkpoint } = parseCheckpointJson(await readFile(file, 'utf8'), {
      file,
      id: CHECKPOINT_ID,
    });
    await store.append(CHECKPOINT_ID, checkpointToChanges(checkpoint));
    return true;
  } finally {
    await lock.release();
  }
}

export interface MigrationResult {
  /** Pages skipped because they were complete. */
  skipped: string[];
  /** Pages retried because they had failed. */
  retried: string[];
  summary: CheckpointSummary;
  /** True when the checkpoint was cleared (nothing failed). */
  cleared: boolean;
  /** Id-map conflicts the run refused and reported. */
  conflicts: string[];
}

/** One run of the migration: what the seed's loop over pages does, with a run instead. */
export async function migrate(
  pages: readonly Page[],
  api: CommentsApi,
  store: CheckpointStore,
): Promise<MigrationResult> {
  const conflicts: string[] = [];
  const run = await openRun({
    id: CHECKPOINT_ID,
    store,
    // The seed saves after every page (a unit here). A crash costs the page in flight: its
    // comments are posted again, and the API hands back the ids they already have.
    strategy: everyUnits(1),
    onIdConflict: (conflict) => conflicts.push(conflict.message),
  });
  await run.plan(pages.map((page) => seed000PageKey(page.pageId)));
  // Completed pages are skipped; failed ones are retried (seed 000 retries every failed page).
  const todo = new Set(run.pending({ retryFailed: true }));
  const result: Omit<MigrationResult, 'summary' | 'cleared'> = {
    skipped: [],
    retried: [],
    conflicts,
  };

  for (const page of pages) {
    const key = seed000PageKey(page.pageId);
    if (!todo.has(key)) {
      result.skipped.push(page.pageId);
      continue;
    }
    if (run.unit(key)?.status === 'failed') result.retried.push(page.pageId);
    await run.start(key);
    try {
      await run.count('extracted', page.comments.length);
      let imported = 0;
      for (const comment of page.comments) {
        // A reply's parent was imported earlier (in this run or a run before): look up its new id.
        const parent = comment.replyTo ? run.lookupId(ID_MAP, comment.replyTo) : undefined;
        const id = await api.create(page.pageId, comment, parent ?? null);
        await run.mapId(ID_MAP, comment.eventId, id); // a different id for a mapped event is refused
        imported += 1;
      }
      await run.count('imported', imported);
      await run.complete(key, { items: imported }); // saved here, with the mappings and counters
    } catch (error) {
      await run.fail(key, error); // retryable; the page is retried on the next run
    }
  }

  // Completed; the checkpoint is deleted only when no page failed (CHECKPOINT_AUTO_CLEANUP).
  const { summary, deleted } = await run.finish();
  return { ...result, summary, cleared: deleted };
}

/** The site: intro was done by the Python tool, faq failed there, install and news are new. */
export const PAGES: Page[] = [
  {
    pageId: 'intro',
    sectionId: 'intro',
    comments: [
      { eventId: '$intro-1', body: 'Great start!' },
      { eventId: '$intro-2', body: 'Thanks!', replyTo: '$intro-1' },
    ],
  },
  {
    pageId: 'faq',
    sectionId: 'faq',
    comments: [
      { eventId: '$faq-1', body: 'As said on the intro page...', replyTo: '$intro-1' },
      { eventId: '$faq-2', body: 'Indeed.', replyTo: '$faq-1' },
    ],
  },
  {
    pageId: 'install',
    sectionId: 'install',
    comments: [{ eventId: '$install-1', body: 'Works on Debian.' }],
  },
  {
    // The same Matrix event shows on two pages: the second import makes another comment, and
    // the id map keeps the first mapping and reports the conflict.
    pageId: 'news',
    sectionId: 'news',
    comments: [
      { eventId: '$news-1', body: 'v2 is out' },
      { eventId: '$faq-1', body: 'As said on the intro page...' },
    ],
  },
];

/** `.migration_checkpoint.json` as seed 000's manager left it: intro done, faq failed. */
export const SEED_FILE = {
  version: '1.0',
  started_at: '2024-03-01T09:00:00',
  last_updated: '2024-03-01T09:05:00',
  completed_pages: {
    intro: {
      page_id: 'intro',
      section_id: 'intro',
      comment_count: 2,
      completed_at: '2024-03-01T09:02:00',
      error: null,
    },
  },
  failed_pages: {
    faq: {
      page_id: 'faq',
      section_id: 'faq',
      comment_count: 0,
      completed_at: '2024-03-01T09:05:00',
      error: 'Connection reset by peer',
    },
  },
  statistics: {
    total_pages: 4,
    total_comments_extracted: 2,
    total_comments_imported: 2,
    failed_imports: 0,
  },
  id_mapping: { '$intro-1': 1, '$intro-2': 2 },
};

export interface Seed000Outcome {
  imported: boolean;
  first: MigrationResult;
  second: MigrationResult;
  comments: CommentsApi['comments'];
}

/** Imports the seed's file, migrates (install fails once), migrates again, and reports. */
export async function main(dir?: string): Promise<Seed000Outcome> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'recipe-000-')));
  const file = join(root, '.migration_checkpoint.json');
  await writeFile(file, JSON.stringify(SEED_FILE, null, 2));
  const store = fileStore({ dir: join(root, '.checkpoints') });

  const imported = await importSeedCheckpoint(file, store);
  const api = new CommentsApi({ firstId: 3, failOnce: ['install'] }); // 1 and 2 exist already
  const first = await migrate(PAGES, api, store);
  const second = await migrate(PAGES, api, store);
  return { imported, first, second, comments: api.comments };
}

if (isMain(import.meta.url)) {
  const { first, second, comments } = await main();
  for (const [name, run] of [
    ['first run', first],
    ['second run', second],
  ] as const) {
    const { counts, total, stats } = run.summary;
    console.log(
      `${name}: skipped ${run.skipped.join(', ') || 'nothing'}; retried ${run.retried.join(', ') || 'nothing'}; ` +
        `${counts.complete}/${total} pages complete, ${counts.failed} failed; imported ${stats['imported'] ?? 0}; ` +
        `checkpoint ${run.cleared ? 'cleared' : 'kept'}`,
    );
    for (const conflict of run.conflicts) console.log(`  conflict: ${conflict}`);
  }
  console.table(comments);
}
