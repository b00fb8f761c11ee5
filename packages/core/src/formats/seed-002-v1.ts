import { z } from 'zod';
import { type Json, JsonSchema, ownRecord } from '../model/schema.js';
import { ownObject } from './own-object.js';
import {
  type Seed002Metadata,
  type Seed002V2Document,
  seed002ToCheckpoint,
  unmappedOperationId,
} from './seed-002.js';
import {
  CountSchema,
  type FormatReader,
  type MappedDocument,
  SeedTimestampSchema,
  versionedAffinity,
} from './shared.js';
import { type JsonPath, shapeMembers } from './unknown-fields.js';

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
 * - the times as `created_at` / `last_updated`, or one `timestamp` (or `saved_at`) for both
 *   (created_at is the first there of created_at, timestamp, saved_at, last_updated;
 *   last_updated the first of last_updated, timestamp, saved_at, created_at);
 * - progress, when recorded, in top-level `processed_items` / `total_items`, else the length of
 *   a `processed_files` list;
 * - no `metadata` object (that is what 2.0 added). Members not named here, and named ones the
 *   migration does not take (see the reader's `unmapped`), are kept in `meta.user.unknownFields`.
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

/** The time members of v1.0, in the order created_at is taken from them. */
const CREATED_FROM = ['created_at', 'timestamp', 'saved_at', 'last_updated'] as const;
/** The same, in the order last_updated is taken from them: one save time serves for both. */
const UPDATED_FROM = ['last_updated', 'timestamp', 'saved_at', 'created_at'] as const;
type TimeMember = (typeof CREATED_FROM)[number];

/** The first of `order` that `doc` has (the schema requires one). */
function firstTime(
  doc: Seed002V1Document,
  order: readonly [TimeMember, ...TimeMember[]],
): TimeMember {
  return order.find((member) => doc[member] !== undefined) ?? order[0];
}

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
      dictionary.set(fileKey(entry), Array.isArray(entry) ? entry[1] : entry);
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
  return {
    version: '2.0',
    operation_id: doc.operation_id ?? operationId ?? '',
    state,
    metadata,
    created_at: doc[firstTime(doc, CREATED_FROM)] as string,
    last_updated: doc[firstTime(doc, UPDATED_FROM)] as string,
  };
}

type FileEntry = Seed002V1Document['files_data'] & {};

/** The file an entry is about: a pair's path, else an object's path/filename/file/name. */
function fileKey(entry: FileEntry[number]): string {
  if (Array.isArray(entry)) return entry[0];
  for (const field of FILE_KEY_FIELDS) {
    const value = entry[field];
    if (typeof value === 'string') return value;
  }
  return ''; // unreachable: the schema requires one of the fields
}

/**
 * What the migration leaves out of a v1.0 document: `operation_id` when `options.id` replaces
 * it; the time members it does not take (a `timestamp` beside `created_at` and `last_updated`),
 * and a last_updated earlier than created_at, which updatedAt cannot be; a top-level
 * `processed_files` or `files_data` that `state` has its own of; file entries that a later entry
 * for the same file replaces.
 */
function unmappedV1({ doc, checkpoint, context }: MappedDocument<Seed002V1Document>): JsonPath[] {
  const paths = unmappedOperationId(doc.operation_id, context);
  const created = firstTime(doc, CREATED_FROM);
  const updated = firstTime(doc, UPDATED_FROM);
  for (const member of CREATED_FROM) {
    const taken =
      member === created || (member === updated && doc[member] === checkpoint.updatedAt);
    if (doc[member] !== undefined && !taken) paths.push([member]);
  }
  const state = doc.state ?? {};
  for (const member of ['processed_files', 'files_data'] as const) {
    if (doc[member] !== undefined && Object.hasOwn(state, member)) paths.push([member]);
  }
  const inState = doc.state?.files_data !== undefined;
  const files = (inState ? doc.state?.files_data : doc.files_data) ?? [];
  const base = inState ? ['state', 'files_data'] : ['files_data'];
  for (const index of replacedEntries(files)) paths.push([...base, index]);
  return paths;
}

/** The indexes of the entries that a later entry for the same file replaces. */
function replacedEntries(files: FileEntry): number[] {
  const last = new Map<string, number>();
  files.forEach((entry, index) => {
    last.set(fileKey(entry), index);
  });
  return files.flatMap((entry, index) => (last.get(fileKey(entry)) === index ? [] : [index]));
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
  unmapped: unmappedV1,
};

/** `.checkpoint_<operation_id>.json` → the operation id; `legacy` for any other file name. */
function operationIdOf(file: string | undefined): string {
  const name = file?.split(/[\\/]/).pop() ?? '';
  const match = /^\.?checkpoint_(.+)\.json$/.exec(name);
  return match?.[1] || 'legacy';
}
