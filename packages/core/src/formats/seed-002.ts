import { z } from 'zod';
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type Json,
  JsonSchema,
  ownRecord,
} from '../model/schema.js';
import { ownObject } from './own-object.js';
import {
  CountSchema,
  type DocumentFormat,
  type FormatReader,
  latest,
  type ReadContext,
  SeedTimestampSchema,
  unit,
  versionedAffinity,
} from './shared.js';
import { type JsonPath, shapeMembers } from './unknown-fields.js';

/**
 * The `metadata` of a seed 002 v2.0 checkpoint. The manager keeps `save_count` (and
 * `last_save_reason` once a strategy gave one); the job adds what it likes, usually the
 * `CheckpointContext` numbers. Members not named here are kept as they are, and every member
 * (`__proto__` too) in the file's order.
 */
export const Seed002MetadataSchema = ownObject({
  total_items: CountSchema.nullish(),
  processed_items: CountSchema.nullish(),
  rate_limit_remaining: z.number().nullish(),
  rate_limit_total: z.number().nullish(),
  save_count: CountSchema,
  last_save_reason: z.string().nullish(),
});
export type Seed002Metadata = z.infer<typeof Seed002MetadataSchema>;

/** Seed 002's checkpoint, version 2.0 (`.checkpoint_<operation_id>.json`), as its README shows it. */
export const Seed002V2Schema = z.object({
  version: z.literal('2.0'),
  operation_id: z.string().min(1),
  state: ownRecord(JsonSchema),
  metadata: Seed002MetadataSchema,
  created_at: SeedTimestampSchema,
  last_updated: SeedTimestampSchema,
});
export type Seed002V2Document = z.infer<typeof Seed002V2Schema>;

/** Key of the one unit a seed 002 checkpoint maps to. */
export const SEED_002_UNIT = 'items';

/**
 * Seed 002 v2.0 into the canonical model:
 *
 * - id = operation_id (unless `options.id` is given); createdAt = created_at; updatedAt =
 *   last_updated (or created_at when that is later); status `running`; no config digest. The
 *   reader keeps an operation_id or last_updated this leaves out in `meta.user.unknownFields`.
 * - one unit `items`, `in_progress`, attempts 1, startedAt = created_at, done = processed_items
 *   (0 when absent), total = total_items (null when absent): seed 002 keeps the job's real resume
 *   point in its free `state`, which the canonical model has no field for.
 * - `meta.user.state` and `meta.user.metadata` hold `state` and `metadata` as they are.
 * - meta.saveCount = save_count; meta.lastSaveReason = last_save_reason, null when save_count is 0,
 *   and `not recorded` when saves were counted without a reason (a change log cannot record a
 *   save without one).
 */
export function seed002ToCheckpoint(
  doc: Seed002V2Document,
  context: ReadContext,
  migratedFrom: DocumentFormat = 'seed-002/2.0',
): Checkpoint {
  const { metadata } = doc;
  const saveCount = metadata.save_count;
  return {
    format: CHECKPOINT_FORMAT,
    id: context.id ?? doc.operation_id,
    status: 'running',
    createdAt: doc.created_at,
    updatedAt: latest(doc.created_at, doc.last_updated),
    configDigest: null,
    units: {
      [SEED_002_UNIT]: unit({
        status: 'in_progress',
        attempts: 1,
        startedAt: doc.created_at,
        done: metadata.processed_items ?? 0,
        total: metadata.total_items ?? null,
      }),
    },
    idMaps: {},
    stats: {},
    meta: {
      saveCount,
      lastSaveReason: saveCount > 0 ? (metadata.last_save_reason ?? 'not recorded') : null,
      user: { migratedFrom, state: doc.state, metadata: metadata as Record<string, Json> },
    },
  };
}

/** The reader of seed 002's v2.0 checkpoint. */
export const seed002V2Reader: FormatReader<Seed002V2Document> = {
  format: 'seed-002/2.0',
  label: 'seed 002 v2.0',
  schema: Seed002V2Schema,
  affinity: (doc) =>
    versionedAffinity(doc, '2.0', ['operation_id', 'state', 'metadata', 'created_at']),
  toCheckpoint: (doc, context) => seed002ToCheckpoint(doc, context),
  // `state` and `metadata` are kept whole, so only top-level members can be unknown.
  known: { members: shapeMembers(Seed002V2Schema.shape) },
  unmapped: ({ doc, checkpoint, context }) => [
    ...unmappedOperationId(doc.operation_id, context),
    // updatedAt is never earlier than createdAt, so an earlier last_updated is not held.
    ...(checkpoint.updatedAt === doc.last_updated ? [] : [['last_updated']]),
  ],
};

/** `operation_id`, when `options.id` gives the checkpoint another id. */
export function unmappedOperationId(
  operationId: string | undefined,
  context: ReadContext,
): JsonPath[] {
  const replaced =
    operationId !== undefined && context.id !== undefined && context.id !== operationId;
  return replaced ? [['operation_id']] : [];
}
