/**
 * Schemas for objects keyed by data (unit keys, page ids, event ids, repository names) that keep
 * every key JSON gave them. zod's `z.record` and `z.json` leave a `__proto__` key out of what they
 * return (so that assigning it cannot replace the result's prototype): a seed 000 page, an id
 * mapping or a unit named so was dropped without a word, and a file with four pages read as three.
 */
import { z } from 'zod';
import { jsonProblem } from './json-value.js';
import { setOwn } from './records.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A `Record<string, V>` checked (and transformed) by `value`, each key set as an own property.
 * An issue of a value carries its key in its path, as `z.record`'s do.
 */
export function ownRecord<T extends z.ZodType>(value: T) {
  return z.unknown().transform((input, ctx): Record<string, z.output<T>> => {
    if (!isRecord(input)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'record', input });
      return z.NEVER;
    }
    const out: Record<string, z.output<T>> = {};
    for (const key of Object.keys(input)) {
      const result = value.safeParse(input[key]);
      if (result.success) setOwn(out, key, result.data);
      else {
        for (const issue of result.error.issues) {
          ctx.issues.push({
            ...issue,
            input: input[key],
            path: [key, ...issue.path],
          } as z.core.$ZodRawIssue);
        }
      }
    }
    return out;
  });
}

/** Any JSON value: a page number, a Link URL, a Matrix token, an object of several. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A JSON value, returned as it is (not rebuilt, so every key stays); see {@link jsonProblem}. */
export const JsonSchema = z.custom<Json>().superRefine((value, ctx) => {
  const problem = jsonProblem(value, 'the value');
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message });
});
