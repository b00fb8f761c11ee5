import { z } from 'zod';
import { JsonSchema, ownRecord } from './own-record.js';

export { type Json, JsonSchema, ownRecord } from './own-record.js';

/** The format tag written into every canonical checkpoint. */
export const CHECKPOINT_FORMAT = 'checkpointkit/1' as const;

export const IsoDateSchema = z.iso.datetime({ offset: true });

export const RunStatusSchema = z.enum(['running', 'completed', 'failed', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const UnitStatusSchema = z.enum(['pending', 'in_progress', 'complete', 'failed']);
export type UnitStatus = z.infer<typeof UnitStatusSchema>;

/**
 * What a failure was, for programs: the HTTP status, the service's error code (a Matrix
 * `errcode`), the URL asked for (decoded, never with a query string that may carry a secret),
 * a system error code (`ECONNRESET`). Every field is optional, and so is the whole: checkpoints
 * written before it existed have none.
 */
export const FailureCauseSchema = z.object({
  status: z.number().int().optional(),
  errcode: z.string().optional(),
  url: z.string().optional(),
  code: z.string().optional(),
});
export type FailureCause = z.infer<typeof FailureCauseSchema>;

export const UnitErrorSchema = z.object({
  message: z.string(),
  retryable: z.boolean(),
  at: IsoDateSchema,
  /** The structured cause, when the error that failed the unit carried one. */
  cause: FailureCauseSchema.optional(),
});
export type UnitErrorInfo = z.infer<typeof UnitErrorSchema>;

/**
 * One unit of work. Its key is a path (`phase/item/sub`), so phases, repositories and endpoints
 * form a tree without extra structure.
 */
export const UnitSchema = z.object({
  status: UnitStatusSchema,
  attempts: z.number().int().nonnegative(),
  /** Where to continue: whatever the source needs (page number, Link URL, token). */
  cursor: JsonSchema,
  done: z.number().nonnegative(),
  total: z.number().nonnegative().nullable(),
  startedAt: IsoDateSchema.nullable(),
  completedAt: IsoDateSchema.nullable(),
  error: UnitErrorSchema.nullable(),
});
export type Unit = z.infer<typeof UnitSchema>;

/** A target id in an id map: a new comment id, a row id, a URL. */
export const MappedIdSchema = z.union([z.string(), z.number()]);
export type MappedId = z.infer<typeof MappedIdSchema>;

export const CheckpointMetaSchema = z.object({
  saveCount: z.number().int().nonnegative(),
  lastSaveReason: z.string().nullable(),
  /** Free metadata of the job's own. */
  user: ownRecord(JsonSchema),
});
export type CheckpointMeta = z.infer<typeof CheckpointMetaSchema>;

/** The state of one job ("operation"), identified by a string id such as `github:acme/pulls`. */
export const CheckpointSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  id: z.string().min(1),
  status: RunStatusSchema,
  createdAt: IsoDateSchema,
  updatedAt: IsoDateSchema,
  /** sha256 (hex) of the canonical JSON of the job's config, or null when the job has none. */
  configDigest: z.string().nullable(),
  units: ownRecord(UnitSchema),
  idMaps: ownRecord(ownRecord(MappedIdSchema)),
  stats: ownRecord(z.number()),
  meta: CheckpointMetaSchema,
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;
