import { z } from 'zod';
import type { Checkpoint, Json, Unit } from '../model/schema.js';
import type { JsonPath, KnownShape } from './unknown-fields.js';

/** The document formats {@link readCheckpointDocument} recognises. */
export type DocumentFormat =
  | 'checkpointkit/1'
  | 'seed-000/1.0'
  | 'seed-002/1.0'
  | 'seed-002/2.0'
  | 'seed-003';

/** Options of {@link readCheckpointDocument} and {@link parseCheckpointJson}. */
export interface ReadOptions {
  /** The file the document came from: named in errors, and the source of a default id. */
  file?: string;
  /**
   * The id of the checkpoint made from a seed document. Default: seed 002's operation_id; for
   * seed 000 the file name without leading dots and `.json` (else `migration_checkpoint`); for
   * seed 003 `gh_year_end:<parent directory>` (else `gh_year_end`).
   */
  id?: string;
}

/** What a format reader gets besides the parsed document. */
export interface ReadContext {
  file: string | undefined;
  id: string | undefined;
}

/** One format: how to recognise it, its schema, and how it maps into the canonical model. */
export interface FormatReader<T> {
  format: DocumentFormat;
  /** How errors name the format: `seed 002 v2.0`. */
  label: string;
  schema: z.ZodType<T>;
  /** How strongly the document's fields point at this format; 0 when they do not at all. */
  affinity(doc: Record<string, unknown>): number;
  /**
   * Looks at the whole document before its schema does, throwing a CheckpointFormatError to
   * refuse it (the canonical reader refuses members its format does not have).
   */
  check?(doc: Record<string, unknown>, context: ReadContext): void;
  toCheckpoint(doc: T, context: ReadContext): Checkpoint;
  /** The members this format's reader understands; the others go to `meta.user.unknownFields`. */
  known?: KnownShape;
  /**
   * Members `known` names whose value the checkpoint does not hold after all (a time that
   * another one overrules, a record that another one shadows): their paths in the document.
   * They go to `meta.user.unknownFields` too, whole and as the file has them.
   */
  unmapped?(read: MappedDocument<T>): JsonPath[];
}

/** A document as its reader parsed and mapped it: what {@link FormatReader.unmapped} compares. */
export interface MappedDocument<T> {
  /** The document as its schema parsed it. */
  doc: T;
  /** The document as the file has it (the schema may have reshaped members). */
  raw: Record<string, unknown>;
  /** The checkpoint {@link FormatReader.toCheckpoint} made of it. */
  checkpoint: Checkpoint;
  context: ReadContext;
}

/** Affinity of a versioned format: the number of its fields present, plus one half when `version` matches. */
export function versionedAffinity(
  doc: Record<string, unknown>,
  version: string,
  fields: readonly string[],
): number {
  // Decided by structure: the version alone is worth less than one field of the format, so a
  // file with another format's fields and a stray `version` goes to that other format first.
  const matched = fields.filter((field) => field in doc).length;
  if (matched === 0) return 0;
  return matched + (doc['version'] === version ? 0.5 : 0);
}

// The offset may carry seconds and a fraction: Python writes `+05:53:28` for a zone whose offset
// is not whole minutes (pytz's local mean times, as `datetime.now(pytz.timezone(...))` gives).
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$/i;

/**
 * Normalises an ISO 8601 date-time as Python writes it (`datetime.isoformat()`, with or without
 * an offset, up to microseconds; the offset in minutes or, for odd zones, seconds) to `YYYY-MM-DDTHH:mm:ss.sssZ`. A naive time (no offset) is taken
 * as UTC. Sub-millisecond digits are dropped. Returns null for anything else, including dates
 * that do not exist (February 30th).
 */
export function normaliseTimestamp(value: string): string | null {
  const match = TIMESTAMP.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute, second = '00', fraction = '', zone = 'Z'] = match;
  const ms = (fraction + '000').slice(0, 3);
  const naive = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${ms}Z`);
  if (
    Number.isNaN(naive.getTime()) ||
    naive.getUTCDate() !== Number(day) ||
    naive.getUTCHours() !== Number(hour)
  ) {
    return null;
  }
  let offsetMs = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const [hours = 0, minutes = 0, seconds = 0] = zone
      .slice(1)
      .replace(/^(\d{2})(\d{2})$/, '$1:$2')
      .split(':')
      .map(Number);
    if (hours > 23 || minutes > 59 || seconds >= 60) return null;
    offsetMs = sign * Math.round(((hours * 60 + minutes) * 60 + seconds) * 1000);
  }
  const iso = new Date(naive.getTime() - offsetMs).toISOString();
  return /^\d{4}-/.test(iso) ? iso : null;
}

/** A seed timestamp: an ISO 8601 string, normalised by {@link normaliseTimestamp}. */
export const SeedTimestampSchema = z.string().transform((value, ctx) => {
  const iso = normaliseTimestamp(value);
  if (iso === null) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date-time' });
    return z.NEVER;
  }
  return iso;
});

/** A non-negative integer count, as the seeds' Python ints are. */
export const CountSchema = z
  .number()
  .int()
  .nonnegative()
  .transform((count) => count + 0); // -0 (JSON allows it) becomes 0

/** The latest of some normalised timestamps (they compare as strings). */
export function latest(first: string, ...rest: (string | null | undefined)[]): string {
  let max = first;
  for (const value of rest) if (value && value > max) max = value;
  return max;
}

/** Every timestamp a checkpoint's units hold. */
export function unitTimestamps(units: Record<string, Unit>): string[] {
  const out: string[] = [];
  for (const unit of Object.values(units)) {
    if (unit.startedAt) out.push(unit.startedAt);
    if (unit.completedAt) out.push(unit.completedAt);
    if (unit.error) out.push(unit.error.at);
  }
  return out;
}

/** A unit with the given fields; the rest as a fresh unit has them. */
export function unit(fields: Partial<Unit>): Unit {
  return {
    status: 'pending',
    attempts: 0,
    cursor: null,
    done: 0,
    total: null,
    startedAt: null,
    completedAt: null,
    error: null,
    ...fields,
  };
}

/** The last path segment of a file name, with / or \ as separator. */
export function baseName(file: string): string {
  const parts = file.split(/[\\/]/).filter((part) => part !== '');
  return parts[parts.length - 1] ?? '';
}

/** The name of the directory a file lies in, when the path has one. */
export function parentName(file: string): string | undefined {
  const parts = file.split(/[\\/]/).filter((part) => part !== '' && part !== '.');
  return parts.length > 1 ? parts[parts.length - 2] : undefined;
}

/** `.migration_checkpoint.json` → `migration_checkpoint`; empty when nothing is left. */
export function fileStem(file: string): string {
  return baseName(file)
    .replace(/^\.+/, '')
    .replace(/\.json$/i, '');
}

/** Free metadata for `meta.user`, dropping members whose value is undefined. */
export function userMeta(entries: Record<string, Json | undefined>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) out[key] = value;
  return out;
}
