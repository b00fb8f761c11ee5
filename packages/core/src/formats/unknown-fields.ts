/**
 * Members of a seed file that its reader does not know: what a newer version of the seed program
 * added (a page's `retry_count`, an endpoint's `etag`). The canonical model has no field for
 * them, so they are kept in `meta.user.unknownFields` and a migration writes them on instead of
 * dropping them.
 */

import { setOwn } from '../model/records.js';
import type { Checkpoint, Json } from '../model/schema.js';

/**
 * The members a reader understands: `true` for a value it reads or keeps whole, `members` for an
 * object with these members (any other is unknown), `each` for an object keyed by data (a page
 * id, a repository) whose every value is as `each` says.
 */
export type KnownShape =
  | true
  | { readonly members: Readonly<Record<string, KnownShape>> }
  | { readonly each: KnownShape };

/** A member the reader did not know: its path of keys from the document's root, and its value. */
export interface UnknownField {
  path: string[];
  value: Json;
}

/** Where a checkpoint read from a seed file keeps the members its reader did not know. */
export const UNKNOWN_FIELDS_KEY = 'unknownFields';

/** Every member of `doc` that `known` does not name, in the document's order. */
export function unknownFields(doc: unknown, known: KnownShape): UnknownField[] {
  const out: UnknownField[] = [];
  collect(doc, known, [], out);
  return out;
}

function collect(value: unknown, known: KnownShape, path: string[], out: UnknownField[]): void {
  // Arrays (seed 003's list of phase names) and scalars hold no members of their own.
  if (known === true || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const member = record[key];
    if ('each' in known) collect(member, known.each, [...path, key], out);
    else if (Object.hasOwn(known.members, key)) {
      collect(member, known.members[key] as KnownShape, [...path, key], out);
    } else if (member !== undefined) out.push({ path: [...path, key], value: member as Json });
  }
}

/** `checkpoint` with `fields` in `meta.user.unknownFields` (unchanged when there are none). */
export function withUnknownFields(checkpoint: Checkpoint, fields: UnknownField[]): Checkpoint {
  if (fields.length === 0) return checkpoint;
  const user = { ...checkpoint.meta.user };
  setOwn(user, UNKNOWN_FIELDS_KEY, fields as unknown as Json);
  return { ...checkpoint, meta: { ...checkpoint.meta, user } };
}

/** The members of a zod object shape, each understood whole. */
export function shapeMembers(shape: object): Record<string, KnownShape> {
  return Object.fromEntries(Object.keys(shape).map((key) => [key, true as const]));
}
