/**
 * Members of a seed file that the checkpoint does not hold: those its reader does not know (what a
 * newer version of the seed program added: a page's `retry_count`, an endpoint's `etag`) and
 * those it knows but whose value its mapping leaves out (a `timestamp` beside `created_at` and
 * `last_updated`, a page listed as both completed and failed). The canonical model has no field
 * for them, so they are kept in `meta.user.unknownFields` and a migration writes them on instead
 * of dropping them.
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

/** Keys and array indexes from a document's root to one of its values. */
export type JsonPath = (string | number)[];

/** A member the checkpoint does not hold: its path from the document's root, and its value. */
export interface UnknownField {
  path: JsonPath;
  value: Json;
}

/** Where a checkpoint read from a seed file keeps the members its reader did not map. */
export const UNKNOWN_FIELDS_KEY = 'unknownFields';

/**
 * Every member of `doc` that `known` does not name, and every one at a path of `unmapped`
 * (whole: nothing below it is listed again), in the document's order.
 */
export function unknownFields(
  doc: unknown,
  known: KnownShape,
  unmapped: readonly JsonPath[] = [],
): UnknownField[] {
  const out: UnknownField[] = [];
  collect(doc, known, [], { out, unmapped: new PathSet(unmapped) });
  return out;
}

interface Collector {
  out: UnknownField[];
  unmapped: PathSet;
}

function collect(value: unknown, known: KnownShape, path: JsonPath, into: Collector): void {
  if (typeof value !== 'object' || value === null) return;
  // What a reader keeps whole, and arrays (seed 003's list of phase names), hold no unknown
  // members of their own; they are only looked into for an unmapped path below them.
  const lookInto = known !== true && !Array.isArray(value);
  if (!lookInto && !into.unmapped.hasBelow(path)) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      visit(item, true, [...path, index], into);
    });
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    visit(record[key], memberShape(known, key), [...path, key], into);
  }
}

/** The shape of member `key` of an object shaped `known`; undefined when it is unknown. */
function memberShape(known: KnownShape, key: string): KnownShape | undefined {
  if (known === true) return true;
  if ('each' in known) return known.each;
  return Object.hasOwn(known.members, key) ? known.members[key] : undefined;
}

function visit(member: unknown, known: KnownShape | undefined, path: JsonPath, into: Collector) {
  if (member === undefined) return;
  if (known === undefined || into.unmapped.has(path)) {
    into.out.push({ path, value: member as Json });
  } else collect(member, known, path, into);
}

/** Paths, looked up whole or by a prefix; `0` and `"0"` (an index and a key) differ. */
class PathSet {
  private readonly paths = new Set<string>();
  private readonly prefixes = new Set<string>();

  constructor(paths: readonly JsonPath[]) {
    for (const path of paths) {
      this.paths.add(JSON.stringify(path));
      for (let end = 0; end < path.length; end++) {
        this.prefixes.add(JSON.stringify(path.slice(0, end)));
      }
    }
  }

  has(path: JsonPath): boolean {
    return this.paths.size > 0 && this.paths.has(JSON.stringify(path));
  }

  /** Whether a path of the set lies strictly below `path`. */
  hasBelow(path: JsonPath): boolean {
    return this.prefixes.size > 0 && this.prefixes.has(JSON.stringify(path));
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
