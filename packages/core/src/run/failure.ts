import { errorMessage, isRetryable } from '../errors.js';
import type { Change } from '../model/changes.js';
import { type FailureCause, FailureCauseSchema } from '../model/schema.js';

/**
 * The structured cause an error carries (`failureCause`, as {@link UnitError} and the sources'
 * errors have), when it is one: anything else is left out rather than failing the unit's record.
 */
export function failureCauseOf(error: unknown): FailureCause | undefined {
  let parsed: ReturnType<typeof FailureCauseSchema.safeParse>;
  try {
    if (!error || typeof error !== 'object' || !('failureCause' in error)) return undefined;
    parsed = FailureCauseSchema.safeParse(error.failureCause);
  } catch {
    // A getter that throws: no cause, rather than no record of the failure at all.
    return undefined;
  }
  if (!parsed.success) return undefined;
  // A store refuses `undefined` members (they would not read back): keep only what is there.
  const cause = Object.fromEntries(
    Object.entries(parsed.data).filter(([, value]) => value !== undefined),
  ) as FailureCause;
  return Object.keys(cause).length > 0 ? cause : undefined;
}

/** The `unit.failed` change for an error, with its structured cause when it has one. */
export function failedChange(
  key: string,
  at: string,
  error: unknown,
  retryable: boolean | undefined,
): Change {
  const cause = failureCauseOf(error);
  return {
    type: 'unit.failed',
    at,
    key,
    message: errorMessage(error),
    retryable: retryable ?? isRetryable(error),
    ...(cause && { cause }),
  };
}
