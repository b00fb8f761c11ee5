import { z } from 'zod';
import { OptionsError } from './errors.js';

/**
 * Zod schemas of the public options objects, checked where they enter (`openRun`, `pipeline`,
 * `run.pending`, `run.claim`). Types alone do not stop JavaScript callers: `retryFailed: 'all'`
 * used to be ignored without a word. Unknown members are let through (an options object built
 * for a newer version should not break an older one); the known ones must be usable.
 */
const fn = (what: string) =>
  z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
    error: `must be ${what}`,
  });
const whole = (min: number) =>
  z
    .number({ error: `must be a whole number >= ${min}` })
    .int({
      error: `must be a whole number >= ${min}`,
    })
    .min(min, { error: `must be a whole number >= ${min}` });

export const RetryFailedSchema = z.union([z.boolean(), z.literal('retryable')], {
  error: 'must be true (every failed unit), "retryable" (only retryable ones) or false',
});

export const PendingOptionsSchema = z.looseObject({
  retryFailed: RetryFailedSchema.optional(),
  from: z.string({ error: 'must be a unit key (a string)' }).optional(),
  prefix: z.string({ error: 'must be a key path (a string)' }).optional(),
});

export const ClaimOptionsSchema = z.looseObject({
  retryFailed: RetryFailedSchema.optional(),
  failedBefore: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time' }).optional(),
});

export const PipelineOptionsSchema = z.looseObject({
  run: z.object({}, { error: 'must be a Run from openRun()' }).loose(),
  source: z.looseObject(
    { units: fn('a function listing units'), read: fn('a function reading a unit') },
    { error: 'must be a Source ({ units, read })' },
  ),
  sink: z.looseObject(
    { write: fn('a function writing a page') },
    {
      error: 'must be a Sink ({ write })',
    },
  ),
  transform: fn('a function').optional(),
  concurrency: whole(1).optional(),
  retryFailed: RetryFailedSchema.optional(),
  onProgress: fn('a function').optional(),
  signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  claimBatch: whole(1).optional(),
});

export const OpenRunOptionsSchema = z.looseObject({
  id: z.string({ error: 'must be a non-empty string' }).min(1, {
    error: 'must be a non-empty string',
  }),
  store: z.looseObject(
    { lock: fn('a function'), load: fn('a function'), append: fn('a function') },
    { error: 'must be a CheckpointStore' },
  ),
  strategy: z
    .looseObject(
      { decide: fn('a function') },
      {
        error: 'must be a save strategy ({ description, decide }), such as everyUnits(1)',
      },
    )
    .optional(),
  onConfigChange: z
    .enum(['error', 'reset', 'keep'], { error: 'must be "error", "reset" or "keep"' })
    .optional(),
  signals: z
    .union([z.boolean(), z.looseObject({})], { error: 'must be true, false or { target, exit }' })
    .optional(),
  autoCleanup: z.boolean({ error: 'must be true or false' }).optional(),
  onIdConflict: fn('a function').optional(),
  now: fn('a function returning a Date').optional(),
  worker: z
    .looseObject(
      { id: z.string().optional(), leaseMs: whole(1).optional() },
      {
        error: 'must be an object { id?, leaseMs? }',
      },
    )
    .optional(),
});

/**
 * Checks an options object against its schema; throws {@link OptionsError} naming the function,
 * the first wrong option and what it accepts (the value is shown only when it is a plain
 * scalar, so a secret passed by mistake is not echoed).
 */
export function checkOptions<T>(name: string, schema: z.ZodType<T>, options: unknown): void {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError(name, '(options)', 'must be an object');
  }
  const parsed = schema.safeParse(options);
  if (parsed.success) return;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const path = issue.path.map(String).join('.') || '(options)';
  const value = issue.path.reduce<unknown>(
    (at, step) =>
      at && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[step] : undefined,
    options,
  );
  const shown =
    typeof value === 'number' || typeof value === 'boolean' || value === null
      ? String(value)
      : typeof value === 'string' && value.length <= 20 && path !== 'id'
        ? JSON.stringify(value)
        : typeof value;
  throw new OptionsError(name, path, `${issue.message} (got ${shown})`);
}
