/**
 * A snapshot's body: the checkpoint with its units in columns (one array per field). Checking
 * the columns and building units from them are apart, so that a summary can be counted from
 * checked columns without building a million unit objects.
 */
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  CheckpointMetaSchema,
  emptyCounts,
  FailureCauseSchema,
  IsoDateSchema,
  type Json,
  RunStatusSchema,
  type StatusCounts,
  type Unit,
  type UnitStatus,
} from '@checkpointkit/core';
import { z } from 'zod';
import { CheckpointFileError } from './errors.js';
import { setKey } from './records.js';
import { deferIdMaps, IdMapsSchema, idMapsRecord } from './snapshot-id-maps.js';

export const STATUS_CODE: Record<UnitStatus, string> = {
  pending: 'p',
  in_progress: 'r',
  complete: 'c',
  failed: 'f',
};
export const STATUS_OF: (UnitStatus | undefined)[] = [];
for (const [status, code] of Object.entries(STATUS_CODE)) {
  STATUS_OF[code.charCodeAt(0)] = status as UnitStatus;
}

const Column = z.custom<unknown[]>((value) => Array.isArray(value), 'expected an array');
export const BodySchema = z.strictObject({
  id: z.string().min(1),
  seq: z.number().int().nonnegative(),
  status: RunStatusSchema,
  createdAt: IsoDateSchema,
  updatedAt: IsoDateSchema,
  configDigest: z.string().nullable(),
  stats: z.record(z.string(), z.number()),
  meta: CheckpointMetaSchema,
  units: z.strictObject({
    keys: Column,
    status: z.string(),
    attempts: Column,
    done: Column,
    total: Column,
    cursor: Column,
    startedAt: Column,
    completedAt: Column,
    // The fifth element, a failure's structured cause, is optional: snapshots written before
    // it existed have four.
    errors: z.array(
      z.tuple([
        z.number().int().nonnegative(),
        z.string(),
        z.boolean(),
        IsoDateSchema,
        FailureCauseSchema.optional(),
      ]),
    ),
  }),
  idMaps: IdMapsSchema,
});
export type Body = z.infer<typeof BodySchema>;

/** A decoded snapshot: the checkpoint and the last journal batch it covers. */
export interface DecodedSnapshot {
  checkpoint: Checkpoint;
  /** Sequence number of the last journal batch folded into this snapshot (0: none). */
  seq: number;
}

/**
 * A snapshot checked whole (length, crc32, JSON, every column value) but whose units are not
 * built yet: what {@link decodeSnapshot} builds the checkpoint from, and what a summary can be
 * counted from without building a million unit objects.
 */
export interface SnapshotColumns {
  /** The body, with the id maps left as `[]` when they are deferred. */
  readonly body: Body;
  /** The id maps' JSON when they are parsed on first use, else null. */
  readonly idMaps: Buffer | null;
  readonly file: string;
  /** The units counted per status, with their items. */
  readonly tally: UnitTally;
}

/** Units counted per status, with their items: what a summary needs of them. */
export interface UnitTally {
  counts: StatusCounts;
  units: number;
  itemsDone: number;
  /** The sum of the totals that are known. */
  itemsTotal: number;
  /** Units whose total is not known. */
  unknownTotals: number;
}

const isDate = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 20 && value.charCodeAt(10) === 84 /* T */;

/**
 * Checks every value of the unit columns, and counts the units per status with their items.
 * One pass of cheap tests: building the units is what costs at a million.
 */
export function checkColumns(columns: Body['units'], file: string): UnitTally {
  const n = columns.keys.length;
  const bad = (what: string, index: number): never => {
    throw new CheckpointFileError(file, 'schema', `bad snapshot body: units.${what}[${index}]`, 2);
  };
  for (const name of ['attempts', 'done', 'total', 'cursor', 'startedAt', 'completedAt'] as const) {
    if (columns[name].length !== n) {
      throw new CheckpointFileError(
        file,
        'schema',
        `bad snapshot body: units.${name} has ${columns[name].length} values for ${n} keys`,
        2,
      );
    }
  }
  if (columns.status.length !== n) {
    throw new CheckpointFileError(
      file,
      'schema',
      `bad snapshot body: units.status has ${columns.status.length} codes for ${n} keys`,
      2,
    );
  }
  const { keys, status: codes, attempts, done, total, startedAt, completedAt } = columns;
  const tally: UnitTally = {
    counts: emptyCounts(),
    units: n,
    itemsDone: 0,
    itemsTotal: 0,
    unknownTotals: 0,
  };
  for (let i = 0; i < n; i++) {
    const status = STATUS_OF[codes.charCodeAt(i)];
    const a = attempts[i];
    const d = done[i];
    const t = total[i];
    const s = startedAt[i];
    const c = completedAt[i];
    if (typeof keys[i] !== 'string') bad('keys', i);
    if (status === undefined) bad('status', i);
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 0) bad('attempts', i);
    if (typeof d !== 'number' || !(d >= 0)) bad('done', i);
    if (t !== null && (typeof t !== 'number' || !(t >= 0))) bad('total', i);
    if (s !== null && !isDate(s)) bad('startedAt', i);
    if (c !== null && !isDate(c)) bad('completedAt', i);
    tally.counts[status!] += 1;
    tally.itemsDone += d as number;
    if (t === null) tally.unknownTotals += 1;
    else tally.itemsTotal += t as number;
  }
  for (const [index] of columns.errors) if (index >= n) bad('errors', index);
  return tally;
}

/** The unit at `i` of checked columns, without its error. */
function unitAt(columns: Body['units'], i: number): Unit {
  return {
    status: STATUS_OF[columns.status.charCodeAt(i)]!,
    attempts: columns.attempts[i] as number,
    cursor: columns.cursor[i] as Json,
    done: columns.done[i] as number,
    total: columns.total[i] as number | null,
    startedAt: columns.startedAt[i] as string | null,
    completedAt: columns.completedAt[i] as string | null,
    error: null,
  };
}

/**
 * The checkpoint of checked columns: all its units, or (with `only`) those whose keys it holds,
 * which is how a summary reads the units a journal changes.
 */
export function checkpointOfColumns(
  { body, idMaps: deferred, file }: SnapshotColumns,
  only?: ReadonlySet<string>,
): DecodedSnapshot {
  const columns = body.units;
  const keys = columns.keys as string[];
  const n = keys.length;
  const units: Record<string, Unit> = {};
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    if (only) {
      if (only.has(key)) setKey(units, key, unitAt(columns, i));
      continue;
    }
    // A key twice is damage the crc32 cannot see (the file was written so): refuse it, as a
    // summary does, rather than let the last one win.
    if (Object.hasOwn(units, key)) repeatedKey(file, key, i);
    setKey(units, key, unitAt(columns, i));
  }
  for (const [index, message, retryable, at, cause] of columns.errors) {
    const key = keys[index]!;
    if (!Object.hasOwn(units, key)) continue; // not asked for
    units[key]!.error = cause ? { message, retryable, at, cause } : { message, retryable, at };
  }
  const idMaps = idMapsRecord(body.idMaps, file);
  const checkpoint: Checkpoint = {
    format: CHECKPOINT_FORMAT,
    id: body.id,
    status: body.status,
    createdAt: body.createdAt,
    updatedAt: body.updatedAt,
    configDigest: body.configDigest,
    units,
    idMaps,
    stats: body.stats,
    meta: body.meta,
  };
  if (deferred) deferIdMaps(checkpoint, deferred, file);
  return { seq: body.seq, checkpoint };
}

/** Throws the error for a unit key the snapshot holds twice (the second one at `index`). */
export function repeatedKey(file: string, key: string, index: number): never {
  throw new CheckpointFileError(
    file,
    'schema',
    `bad snapshot body: units.keys[${index}] repeats the key ${JSON.stringify(key)}`,
    2,
  );
}
