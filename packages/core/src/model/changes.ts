import { z } from 'zod';
import {
  FailureCauseSchema,
  IsoDateSchema,
  JsonSchema,
  MappedIdSchema,
  RunStatusSchema,
} from './schema.js';

const at = IsoDateSchema;
const key = z.string().min(1);

/**
 * The change log: every state change is one of these small events. Stores persist changes, not
 * whole documents, and give back exactly what {@link applyChange} computes from them.
 */
export const ChangeSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('created'),
    at,
    id: z.string().min(1),
    configDigest: z.string().nullable(),
  }),
  z.object({ type: z.literal('status'), at, status: RunStatusSchema }),
  z.object({ type: z.literal('config'), at, configDigest: z.string().nullable() }),
  z.object({
    type: z.literal('unit.planned'),
    at,
    key,
    total: z.number().nonnegative().nullable().optional(),
  }),
  z.object({ type: z.literal('unit.started'), at, key }),
  z.object({
    type: z.literal('unit.progressed'),
    at,
    key,
    cursor: JsonSchema,
    /** Absolute count of items done in this unit (not a delta), so replay is idempotent. */
    done: z.number().nonnegative(),
    total: z.number().nonnegative().nullable().optional(),
  }),
  z.object({
    type: z.literal('unit.completed'),
    at,
    key,
    cursor: JsonSchema.optional(),
    done: z.number().nonnegative().optional(),
  }),
  z.object({
    type: z.literal('unit.failed'),
    at,
    key,
    message: z.string(),
    retryable: z.boolean(),
    cause: FailureCauseSchema.optional(),
  }),
  z.object({
    type: z.literal('unit.reset'),
    at,
    key,
    /** Keep the cursor and count (retry from where it stopped) or start the unit over. */
    keepCursor: z.boolean(),
  }),
  z.object({ type: z.literal('unit.removed'), at, key }),
  z.object({
    type: z.literal('id.mapped'),
    map: z.string().min(1),
    source: z.string(),
    target: MappedIdSchema,
  }),
  z.object({ type: z.literal('counter.added'), name: z.string().min(1), by: z.number() }),
  z.object({ type: z.literal('meta.set'), key: z.string().min(1), value: JsonSchema }),
  z.object({ type: z.literal('saved'), at, reason: z.string() }),
]);
export type Change = z.infer<typeof ChangeSchema>;
export type ChangeType = Change['type'];
