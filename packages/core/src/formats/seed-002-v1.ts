import { z } from 'zod';
import { type Json, JsonSchema } from '../model/schema.js';
import { type Seed002Metadata, type Seed002V2Document, seed002ToCheckpoint } from './seed-002.js';
import {
  CountSchema,
  type FormatReader,
  SeedTimestampSchema,
  versionedAffinity,
} from './shared.js';

/** Fields of a file record in v1.0 that can name the file, tried in this order. */
const FILE_KEY_FIELDS = ['path', 'filename', 'file', 'name'] as const;

/** One v1.0 file record: a `[path, data]` pair, or an object naming its file. */
const FileEntrySchema = z.union([
  z.tuple([z.string(), JsonSchema]),
  z
    .record(z.string(), JsonSchema)
    .refine((entry) => FILE_KEY_FIELDS.some((field) => typeof entry[field] === 'string'), {
      message: `expected a [path, data] pair or an object with a ${FILE_KEY_FIELDS.join('/')} string`,
    }),
]);

/**
 * Seed 002's legacy checkpoint, version 1.0. Seed 002 only describes it by its migration to 2.0:
 * "converting array-based file data to dictionary format, preserving existing progress
 * information, adding metadata structure". What is inferred from that:
 *
 * - the same envelope as 2.0 (`version`, `operation_id`, `state`, `created_at`, `last_updated`)
 *   but no `metadata` object;
 * - `state.files_data` is an array (2.0 has a dictionary there): each entry a `[path, data]`
 *   pair (Python's `list(d.items())`) or an object naming its file in `path`, `filename`, `file`
 *   or `name`;
 * - progress, when recorded, in top-level `processed_items` / `total_items`.
 */
export const Seed002V1Schema = z.object({
  version: z.literal('1.0'),
  operation_id: z.string().min(1),
  state: z.object({ files_data: z.array(FileEntrySchema).optional() }).catchall(JsonSchema),
  processed_items: CountSchema.nullish(),
  total_items: CountSchema.nullish(),
  created_at: SeedTimestampSchema,
  last_updated: SeedTimestampSchema,
});
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
export function migrateSeed002V1(doc: Seed002V1Document): Seed002V2Document {
  const { files_data: files, ...rest } = doc.state;
  const state: Record<string, Json> = { ...(rest as Record<string, Json>) };
  if (files !== undefined) {
    // A Map, then fromEntries: a file named `__proto__` stays an ordinary member.
    const dictionary = new Map<string, Json>();
    for (const entry of files) {
      if (Array.isArray(entry)) dictionary.set(entry[0], entry[1]);
      else dictionary.set(fileKey(entry), entry);
    }
    state['files_data'] = Object.fromEntries(dictionary);
  }
  const processed = Array.isArray(rest['processed_files'])
    ? rest['processed_files'].length
    : undefined;
  const metadata: Seed002Metadata = { save_count: 0, last_save_reason: null };
  const processedItems = doc.processed_items ?? processed;
  if (processedItems !== undefined && processedItems !== null) {
    metadata.processed_items = processedItems;
  }
  if (doc.total_items !== undefined && doc.total_items !== null) {
    metadata.total_items = doc.total_items;
  }
  return {
    version: '2.0',
    operation_id: doc.operation_id,
    state,
    metadata,
    created_at: doc.created_at,
    last_updated: doc.last_updated,
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
    versionedAffinity(doc, '1.0', ['operation_id', 'state', 'created_at', 'last_updated']),
  toCheckpoint: (doc, context) =>
    seed002ToCheckpoint(migrateSeed002V1(doc), context, 'seed-002/1.0'),
};
