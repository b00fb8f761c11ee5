import { z } from 'zod';

/** The format tag written into every canonical checkpoint. */
export const CHECKPOINT_FORMAT = 'checkpointkit/1' as const;

export const IsoDateSchema = z.iso.datetime({ offset: true });

/** Any JSON value: a page number, a Link URL, a Matrix token, an object of several. */
export const JsonSchema = z.json();
export type Json = z.infer<typeof JsonSchema>;

export const RunStatusSchema = z.enum(['running', 'completed', 'failed', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const UnitStatusSchema = z.enum(['pending', 'in_progress', 'complete', 'failed']);
export type UnitStatus = z.infer<typeof UnitStatusSchema>;

export const UnitErrorSchema = z.object({
  message: z.string(),
  retryable: z.boolean(),
  at: IsoDateSchema,
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
  user: z.record(z.string(), JsonSchema),
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
  units: z.record(z.string(), UnitSchema),
  idMaps: z.record(z.string(), z.record(z.string(), MappedIdSchema)),
  stats: z.record(z.string(), z.number()),
  meta: CheckpointMetaSchema,
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;
