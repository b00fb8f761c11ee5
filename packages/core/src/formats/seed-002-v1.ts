import { z } from 'zod';
import { type Json, JsonSchema, ownRecord } from '../model/schema.js';
import { ownObject } from './own-object.js';
import { type Seed002Metadata, type Seed002V2Document, seed002ToCheckpoint } from './seed-002.js';
import {
  CountSchema,
  type FormatReader,
  SeedTimestampSchema,
  versionedAffinity,
} from './shared.js';
import { shapeMembers } from './unknown-fields.js';

/** Fields of a file record in v1.0 that can name the file, tried in this order. */
const FILE_KEY_FIELDS = ['path', 'filename', 'file', 'name'] as const;

/** One v1.0 file record: a `[path, data]` pair, or an object naming its file. */
const FileEntrySchema = z.union([
  z.tuple([z.string(), JsonSchema]),
  ownRecord(JsonSchema).refine(
    (entry) => FILE_KEY_FIELDS.some((field) => typeof entry[field] === 'string'),
    {
      message: `expected a [path, data] pair or an object with a ${FILE_KEY_FIELDS.join('/')} string`,
    },
  ),
]);

/**
 * Seed 002's legacy checkpoint, version 1.0. Seed 002 only describes it by its migration to 2.0:
 * "converting array-based file data to dictionary format, preserving existing progress
 * information, adding metadata structure". Every variant that description allows is read:
 *
 * - `version` "1.0", or absent (the legacy system may not have written one);
 * - `operation_id`, or (when absent) the id in the file name `.checkpoint_<operation_id>.json`;
 * - the file data as an array, in `state.files_data` or at the top level (`files_data`); each
 *   entry a `[path, data]` pair (Python's `list(d.items())`) or an object naming its file in
 *   `path`, `filename`, `file` or `name`; `state` itself may be absent;
 * - the times as `created_at` / `last_updated`, or one `timestamp` (or `saved_at`) for both;
 * - progress, when recorded, in top-level `processed_items` / `total_items`, else the length of
 *   a `processed_files` list;
 * - no `metadata` object (that is what 2.0 added). Fields not named here are ignored.
 */
export const Seed002V1Schema = z
  .object({
    version: z.literal('1.0').optional(),
    operation_id: z.string().min(1).optional(),
    state: ownObject({ files_data: z.array(FileEntrySchema).optional() }).optional(),
    files_data: z.array(FileEntrySchema).optional(),
    processed_files: z.array(JsonSchema).optional(),
    processed_items: CountSchema.nullish(),
    total_items: CountSchema.nullish(),
    created_at: SeedTimestampSchema.optional(),
    last_updated: SeedTimestampSchema.optional(),
    timestamp: SeedTimestampSchema.optional(),
    saved_at: SeedTimestampSchema.optional(),
  })
  .refine((doc) => doc.state?.files_data !== undefined || doc.files_data !== undefined, {
    message: 'missing (expected the array of file data, in state.files_data or at the top level)',
    path: ['files_data'],
  })
  .refine(
    (doc) =>
      [doc.created_at, doc.last_updated, doc.timestamp, doc.saved_at].some((t) => t !== undefined),
    {
      message: 'missing (expected created_at, last_updated or timestamp)',
      path: ['created_at'],
    },
  );
export type Seed002V1Document = z.infer<typeof Seed002V1Schema>;

/**
 * Migrates a v1.0 document to v2.0 the way seed 002 describes it:
 *
 * - `state.files_data` becomes a dictionary: a pair `[path, data]` gives `path → data`, an
 *   object gives `<its path/filename/file/name> → the object`; a later entry for the same file
 *   wins, as in a Python dict;
 * - the rest of `state` is kept as it is;
 * - `metadata` is added: `save_count` 0, `last_save_reason` null, and the progress: the top-level
 *   `processed_items` / `total_items`, else the length of a `state.processed_files` list.
 */
export function migrateSeed002V1(doc: Seed002V1Document, operationId?: string): Seed002V2Document {
  const files = doc.state?.files_data ?? doc.files_data;
  // A copy in the file's order (a spread keeps a `__proto__` member): the dictionary below takes
  // the array's place, as Python's `state["files_data"] = {...}` leaves a key where it was.
  const state: Record<string, Json> = { ...(doc.state as Record<string, Json> | undefined) };
  if (doc.processed_files !== undefined && !('processed_files' in state)) {
    state['processed_files'] = doc.processed_files;
  }
  if (files !== undefined) {
    // A Map, then fromEntries: a file named `__proto__` stays an ordinary member.
    const dictionary = new Map<string, Json>();
    for (const entry of files) {
      if (Array.isArray(entry)) dictionary.set(entry[0], entry[1]);
      else dictionary.set(fileKey(entry), entry);
    }
    state['files_data'] = Object.fromEntries(dictionary);
  }
  const processedFiles = state['processed_files'];
  const processed = Array.isArray(processedFiles) ? processedFiles.length : undefined;
  const metadata: Seed002Metadata = { save_count: 0, last_save_reason: null };
  const processedItems = doc.processed_items ?? processed;
  if (processedItems !== undefined && processedItems !== null) {
    metadata.processed_items = processedItems;
  }
  if (doc.total_items !== undefined && doc.total_items !== null) {
    metadata.total_items = doc.total_items;
  }
  const created = (doc.created_at ?? doc.timestamp ?? doc.saved_at ?? doc.last_updated) as string;
  return {
    version: '2.0',
    operation_id: doc.operation_id ?? operationId ?? '',
    state,
    metadata,
    created_at: created,
    last_updated: doc.last_updated ?? doc.timestamp ?? doc.saved_at ?? created,
  };
}

function fileKey(entry: Record<string, Json>): string {
  for (const field of FILE_KEY_FIELDS) {
    const value = entry[field];
    if (typeof value === 'string') return value;
  }
  return ''; // unreachable: the schema requires one of the fields
}

/** The reader of seed 002's legacy v1.0 checkpoint: migrated to 2.0, then mapped like 2.0. */
export const seed002V1Reader: FormatReader<Seed002V1Document> = {
  format: 'seed-002/1.0',
  label: 'seed 002 v1.0',
  schema: Seed002V1Schema,
  affinity: (doc) =>
    'metadata' in doc
      ? 0
      : versionedAffinity(doc, '1.0', [
          'operation_id',
          'state',
          'files_data',
          'processed_files',
          'created_at',
          'last_updated',
          'timestamp',
        ]),
  toCheckpoint: (doc, context) =>
    seed002ToCheckpoint(
      migrateSeed002V1(doc, operationIdOf(context.file)),
      context,
      'seed-002/1.0',
    ),
  // `state` and the file entries are kept whole, so only top-level members can be unknown.
  known: { members: shapeMembers(Seed002V1Schema.shape) },
};

/** `.checkpoint_<operation_id>.json` → the operation id; `legacy` for any other file name. */
function operationIdOf(file: string | undefined): string {
  const name = file?.split(/[\\/]/).pop() ?? '';
  const match = /^\.?checkpoint_(.+)\.json$/.exec(name);
  return match?.[1] || 'legacy';
}
