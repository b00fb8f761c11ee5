/**
 * The check of every change an `append` is given, before anything is written: a change the
 * store could not read back is refused. core's schema (`ChangeSchema`) decides. The changes of a
 * page and of a save, which every durable flush carries, take a shortcut that accepts only what
 * the schema accepts, and returns what it returns; anything else goes to the schema itself.
 */
import { type Change, ChangeSchema, CheckpointError, IsoDateSchema } from '@checkpointkit/core';
import { describeIssues } from '../format/bytes.js';

/** Checks every change against core's schema; returns the schema's output (unknown keys left out). */
export function validateChanges(id: string, changes: readonly Change[]): Change[] {
  const valid: Change[] = [];
  for (let index = 0; index < changes.length; index++) {
    const change = changes[index]!;
    valid.push(knownGood(change) ?? parseChange(id, change, index));
  }
  return valid;
}

function parseChange(id: string, change: Change, index: number): Change {
  const parsed = ChangeSchema.safeParse(change);
  if (!parsed.success) {
    throw new CheckpointError(
      `append to checkpoint "${id}": change ${index} (${JSON.stringify((change as { type?: unknown })?.type)}) is not valid: ${describeIssues(parsed.error.issues)}`,
    );
  }
  return parsed.data;
}

/**
 * What `ChangeSchema.parse` would return for a `unit.progressed` or `saved` change that certainly
 * passes it, built by hand: zod's parse of the 9 changes of a group-commit flush of 8 pages cost
 * about 16 µs, a tenth of the store's own CPU per flush (profiled). Undefined for anything else,
 * or anything this cannot vouch for, which the schema then judges (and names, if it refuses).
 * Only the keys of the schema are kept, in its order, as zod's output has them.
 */
function knownGood(change: Change): Change | undefined {
  if (typeof change !== 'object' || change === null) return undefined;
  if (change.type === 'unit.progressed') return knownGoodProgress(change);
  if (change.type === 'saved') {
    const keys = Object.keys(change);
    const { type, at, reason } = change;
    if (keys.length !== 3 || typeof reason !== 'string' || !isIsoDate(at)) return undefined;
    return { type, at, reason };
  }
  return undefined;
}

const PROGRESS_KEYS = ['type', 'at', 'key', 'cursor', 'done', 'total'];

function knownGoodProgress(change: Change & { type: 'unit.progressed' }): Change | undefined {
  const keys = Object.keys(change);
  // Exactly the schema's keys (`total` optional): an unknown one would be left out by zod.
  if (keys.length !== 5 && keys.length !== 6) return undefined;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== PROGRESS_KEYS[i]) return undefined;
  const { type, at, key, cursor, done, total } = change;
  if (typeof key !== 'string' || key.length === 0 || !isCount(done) || !isIsoDate(at))
    return undefined;
  if (!isPlainJson(cursor, 0)) return undefined;
  if (keys.length === 5) return { type, at, key, cursor, done };
  if (total !== undefined && total !== null && !isCount(total)) return undefined;
  return { type, at, key, cursor, done, total };
}

/** z.number().nonnegative(): finite (zod 4 refuses ±Infinity and NaN), not below 0. */
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * `z.iso.datetime({ offset: true })`, for the strings `Date.toISOString` writes (as runs do) of
 * the years 0000-9999: exactly 24 characters, and a date that formats back to the same string
 * (so no month 13, February 30 or second 60, which the schema's pattern refuses too). Anything
 * else is the schema's to judge.
 */
function isIsoDate(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (value.length === 24 && roundTrips(value)) return true;
  return IsoDateSchema.safeParse(value).success;
}

/** The last time string that formatted back: a run's clock gives the changes of one ms the same. */
let lastRoundTrip = '';

function roundTrips(value: string): boolean {
  if (value === lastRoundTrip) return true;
  const time = Date.parse(value);
  if (Number.isNaN(time) || new Date(time).toISOString() !== value) return false;
  lastRoundTrip = value;
  return true;
}

/** Nesting the shortcut looks into; deeper cursors (and cycles, which never end) go to the schema. */
const SHORTCUT_NESTING = 32;

/**
 * A value that certainly survives JSON as it is (what core's `JsonSchema` accepts, less some it
 * accepts too): finite numbers, strings, booleans, null, and arrays without holes and plain
 * objects of them. An object property that is undefined (fine for the schema) is left to it.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= SHORTCUT_NESTING) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key of Object.keys(value)) {
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}
