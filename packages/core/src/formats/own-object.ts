/**
 * Objects whose members a reader keeps as the file has them. zod's `z.object` rebuilds its
 * output in the order of its shape and assigns every member, so a `__proto__` member of the file
 * was dropped (the assignment sets the prototype instead) and the job's own members moved behind
 * the known ones: what a seed checkpoint kept "as it is" was not.
 */
import { z } from 'zod';
import { setOwn } from '../model/records.js';
import { type Json, JsonSchema } from '../model/schema.js';

/**
 * What {@link ownObject} gives: the shape's members, and any other member as JSON. An
 * intersection, not one object type: written out as one (`{ [x: string]: Json; n?: number |
 * undefined }`) in the declarations, an optional member conflicts with the index signature, and a
 * user's `tsc` without `skipLibCheck` failed on this package's `.d.ts` files (TS2411).
 */
export type OwnObject<Shape extends z.ZodRawShape> = z.output<z.ZodObject<Shape>> & {
  [member: string]: Json;
};

/**
 * `shape` checked and transformed as `z.object(shape).catchall(JsonSchema)` does, but returned in
 * the input's order with every member an own property: the known members as their schemas give
 * them (a count's -0 as 0), the others as they are.
 */
export function ownObject<Shape extends z.ZodRawShape>(
  shape: Shape,
): z.ZodPipe<z.ZodUnknown, z.ZodTransform<OwnObject<Shape>, unknown>> {
  const schema = z.object(shape).catchall(JsonSchema);
  return z.unknown().transform((input, ctx): OwnObject<Shape> => {
    const result = schema.safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.issues.push(issue as z.core.$ZodRawIssue);
      return z.NEVER;
    }
    const parsed = result.data as Record<string, unknown>;
    const found = input as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(found)) {
      if (Object.hasOwn(parsed, key)) setOwn(out, key, parsed[key]);
      else {
        // Only a `__proto__` member is missing from zod's output; check it as the catchall would.
        const value = JsonSchema.safeParse(found[key]);
        if (!value.success) {
          ctx.issues.push({ code: 'custom', message: 'not a JSON value', path: [key], input });
          return z.NEVER;
        }
        setOwn(out, key, found[key]);
      }
    }
    // Members the input lacks but the shape fills in (a default) come last.
    for (const key of Object.keys(parsed)) if (!Object.hasOwn(out, key)) out[key] = parsed[key];
    return out as OwnObject<Shape>;
  });
}
