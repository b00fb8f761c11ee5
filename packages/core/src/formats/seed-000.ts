import { z } from 'zod';
import { keyPath } from '../model/keys.js';
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type Json,
  MappedIdSchema,
  ownRecord,
  type RunStatus,
  type Unit,
} from '../model/schema.js';
import {
  CountSchema,
  type FormatReader,
  fileStem,
  latest,
  type MappedDocument,
  type ReadContext,
  SeedTimestampSchema,
  unit,
  unitTimestamps,
  userMeta,
  versionedAffinity,
} from './shared.js';
import { type JsonPath, shapeMembers } from './unknown-fields.js';

/**
 * One page of seed 000 (the `PageStatus` dataclass as `asdict` writes it). `error` may be absent:
 * it is `None` for completed pages.
 */
export const Seed000PageSchema = z.object({
  page_id: z.string(),
  section_id: z.string(),
  comment_count: CountSchema,
  completed_at: SeedTimestampSchema,
  error: z.string().nullable().default(null),
});
export type Seed000Page = z.infer<typeof Seed000PageSchema>;

/**
 * Seed 000's migration checkpoint (`.migration_checkpoint.json`, version 1.0), as its
 * CheckpointManager's `save_checkpoint()` writes it. `started_at` is None until
 * `start_migration()` ran; one of `started_at` and `last_updated` must be there.
 */
export const Seed000Schema = z
  .object({
    version: z.literal('1.0'),
    started_at: SeedTimestampSchema.nullable().default(null),
    last_updated: SeedTimestampSchema.nullable().default(null),
    completed_pages: ownRecord(Seed000PageSchema),
    failed_pages: ownRecord(Seed000PageSchema),
    statistics: z.object({
      total_pages: CountSchema,
      total_comments_extracted: CountSchema,
      total_comments_imported: CountSchema,
      failed_imports: CountSchema,
    }),
    id_mapping: ownRecord(MappedIdSchema),
  })
  .refine((doc) => doc.started_at !== null || doc.last_updated !== null, {
    message: 'neither started_at nor last_updated is set',
    path: ['last_updated'],
  });
export type Seed000Document = z.infer<typeof Seed000Schema>;

/** Key of a seed 000 page's unit: `pages/<page_id>`. */
export function seed000PageKey(pageId: string): string {
  return keyPath('pages', pageId);
}

/**
 * Seed 000 into the canonical model:
 *
 * - each page is a unit `pages/<page_id>`, attempts 1, done = comment_count. A completed page
 *   is `complete` with completedAt = completed_at; a failed one is `failed` with error
 *   `{ message: error, retryable: true, at: completed_at }` (the seed retries failed pages). A page
 *   in both maps counts as completed (the seed skips it); its failed record is kept in
 *   `meta.user.unknownFields` (see the reader's `unmapped`).
 * - `meta.user.sections` maps page_id → section_id; a completed page's error text, if any, goes to
 *   `meta.user.completedPageErrors`.
 * - stats: extracted, imported, failedImports, totalPages (pages not reached yet have no id, so
 *   they have no unit; totalPages tells how many there are in all).
 * - idMaps `matrix-event` from id_mapping (left out when empty).
 * - createdAt = started_at (else last_updated); updatedAt = the latest timestamp in the file.
 * - status `completed` when every page of total_pages completed, `failed` when all were tried
 *   and some failed, else `running`.
 */
export function seed000ToCheckpoint(doc: Seed000Document, context: ReadContext): Checkpoint {
  const units: Record<string, Unit> = {};
  const sections = new Map<string, string>();
  const completedPageErrors = new Map<string, string>();
  for (const [pageId, page] of Object.entries(doc.failed_pages)) {
    sections.set(pageId, page.section_id);
    units[seed000PageKey(pageId)] = unit({
      status: 'failed',
      attempts: 1,
      done: page.comment_count,
      error: { message: page.error ?? 'failed', retryable: true, at: page.completed_at },
    });
  }
  for (const [pageId, page] of Object.entries(doc.completed_pages)) {
    sections.set(pageId, page.section_id);
    if (page.error !== null) completedPageErrors.set(pageId, page.error);
    units[seed000PageKey(pageId)] = unit({
      status: 'complete',
      attempts: 1,
      done: page.comment_count,
      completedAt: page.completed_at,
    });
  }
  const createdAt = (doc.started_at ?? doc.last_updated) as string;
  const { statistics: stats } = doc;
  return {
    format: CHECKPOINT_FORMAT,
    id: context.id ?? ((context.file && fileStem(context.file)) || 'migration_checkpoint'),
    status: runStatus(doc),
    createdAt,
    updatedAt: latest(createdAt, doc.last_updated, ...unitTimestamps(units)),
    configDigest: null,
    units,
    idMaps: Object.keys(doc.id_mapping).length > 0 ? { 'matrix-event': doc.id_mapping } : {},
    stats: {
      extracted: stats.total_comments_extracted,
      imported: stats.total_comments_imported,
      failedImports: stats.failed_imports,
      totalPages: stats.total_pages,
    },
    meta: {
      saveCount: 0,
      lastSaveReason: null,
      user: userMeta({
        migratedFrom: 'seed-000/1.0',
        // The pages the migration plans: the summary measures progress against these, not
        // against the pages listed (which are only the finished ones).
        plannedUnits: stats.total_pages,
        sections: Object.fromEntries(sections),
        completedPageErrors:
          completedPageErrors.size > 0 ? Object.fromEntries(completedPageErrors) : undefined,
      } satisfies Record<string, Json | undefined>),
    },
  };
}

function runStatus(doc: Seed000Document): RunStatus {
  const completed = Object.keys(doc.completed_pages).length;
  const failed = Object.keys(doc.failed_pages).filter((id) => !(id in doc.completed_pages)).length;
  const total = doc.statistics.total_pages;
  if (total === 0 || completed + failed < total) return 'running';
  return failed > 0 ? 'failed' : 'completed';
}

const PAGE_MEMBERS = shapeMembers(Seed000PageSchema.shape);
const STATISTICS_MEMBERS = shapeMembers(Seed000Schema.shape.statistics.shape);

/**
 * What the mapping leaves out of a seed 000 document: the failed record of a page that is also
 * completed (the completed one makes the unit), a `page_id` other than the key its page is filed
 * under (the key names the unit), and a `last_updated` that is neither createdAt nor updatedAt
 * (a page's time or started_at overrules it).
 */
function unmappedSeed000({ doc, checkpoint }: MappedDocument<Seed000Document>): JsonPath[] {
  const paths: JsonPath[] = [];
  for (const pageId of Object.keys(doc.failed_pages)) {
    if (Object.hasOwn(doc.completed_pages, pageId)) paths.push(['failed_pages', pageId]);
  }
  for (const map of ['completed_pages', 'failed_pages'] as const) {
    for (const [pageId, page] of Object.entries(doc[map])) {
      const shadowed = map === 'failed_pages' && Object.hasOwn(doc.completed_pages, pageId);
      if (page.page_id !== pageId && !shadowed) paths.push([map, pageId, 'page_id']);
    }
  }
  const { last_updated: lastUpdated } = doc;
  if (lastUpdated !== null && ![checkpoint.createdAt, checkpoint.updatedAt].includes(lastUpdated)) {
    paths.push(['last_updated']);
  }
  return paths;
}

/** The reader of seed 000's migration checkpoint. */
export const seed000Reader: FormatReader<Seed000Document> = {
  format: 'seed-000/1.0',
  label: 'seed 000 migration checkpoint 1.0',
  schema: Seed000Schema,
  affinity: (doc) =>
    versionedAffinity(doc, '1.0', [
      'completed_pages',
      'failed_pages',
      'statistics',
      'id_mapping',
      'started_at',
    ]),
  toCheckpoint: seed000ToCheckpoint,
  known: {
    members: {
      version: true,
      started_at: true,
      last_updated: true,
      completed_pages: { each: { members: PAGE_MEMBERS } },
      failed_pages: { each: { members: PAGE_MEMBERS } },
      statistics: { members: STATISTICS_MEMBERS },
      id_mapping: true,
    },
  },
  unmapped: unmappedSeed000,
};
