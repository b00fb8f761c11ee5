/**
 * The snapshot file: one JSON document, built so that opening a checkpoint of a million units
 * costs no more than `JSON.parse` of the same state as one plain document.
 *
 * ```text
 * {"format":"checkpointkit/1","snapshot":1,"bytes":<body bytes>,"crc32":"<hex>","data":
 * <body: the checkpoint in columns>
 * }
 * ```
 *
 * The first line is the envelope (checked with zod); the body keeps units and id maps in columns
 * (one array per field) instead of one object per unit with the key names repeated, and is
 * guarded by its length and crc32, so any damage (a flipped byte, a cut) is detected before
 * anything is trusted. Columns get cheap per-value checks instead of a zod parse per unit.
 */
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  CheckpointMetaSchema,
  FailureCauseSchema,
  IsoDateSchema,
  type Json,
  type MappedId,
  RunStatusSchema,
  type Unit,
  type UnitStatus,
} from '@checkpointkit/core';
import { z } from 'zod';
import { describeIssues, toBuffer } from './bytes.js';
import { CRC_PATTERN, crc32Hex } from './checksum.js';
import { CheckpointFileError } from './errors.js';
import { jsonFailure } from './json-error.js';
import { assertKnownVersions } from './version.js';

/** Version of the snapshot encoding inside the `checkpointkit/1` format. */
export const SNAPSHOT_VERSION = 1;

const HEADER_END = '"data":';
const TAIL = '\n}\n';

const STATUS_CODE: Record<UnitStatus, string> = {
  pending: 'p',
  in_progress: 'r',
  complete: 'c',
  failed: 'f',
};
const STATUS_OF: (UnitStatus | undefined)[] = [];
for (const [status, code] of Object.entries(STATUS_CODE)) {
  STATUS_OF[code.charCodeAt(0)] = status as UnitStatus;
}

const HeaderSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  snapshot: z.literal(SNAPSHOT_VERSION),
  bytes: z.number().int().nonnegative(),
  crc32: z.string().regex(CRC_PATTERN),
  data: z.null(),
});

const Column = z.custom<unknown[]>((value) => Array.isArray(value), 'expected an array');
const MapObject = z.custom<Record<string, MappedId>>(
  (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
  'expected an object',
);

const IdMapsSchema = z.array(z.tuple([z.string().min(1), MapObject]));

const BodySchema = z.strictObject({
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
type Body = z.infer<typeof BodySchema>;

/** A decoded snapshot: the checkpoint and the last journal batch it covers. */
export interface DecodedSnapshot {
  checkpoint: Checkpoint;
  /** Sequence number of the last journal batch folded into this snapshot (0: none). */
  seq: number;
}

/** Encodes a checkpoint as a snapshot that covers the journal up to batch `seq`. */
export function encodeSnapshot(checkpoint: Checkpoint, seq: number): Buffer {
  // Object.keys, not Object.entries: a million [key, value] pairs cost more than the lookups.
  const units = checkpoint.units;
  const keys = Object.keys(units);
  const n = keys.length;
  const attempts = new Array<number>(n);
  const done = new Array<number>(n);
  const total = new Array<number | null>(n);
  const cursor = new Array<Json>(n);
  const startedAt = new Array<string | null>(n);
  const completedAt = new Array<string | null>(n);
  const errors: Body['units']['errors'] = [];
  const codes: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const unit = units[keys[i]!]!;
    codes[i] = STATUS_CODE[unit.status];
    attempts[i] = unit.attempts;
    done[i] = unit.done;
    total[i] = unit.total;
    cursor[i] = unit.cursor;
    startedAt[i] = unit.startedAt;
    completedAt[i] = unit.completedAt;
    if (unit.error) {
      const { message, retryable, at, cause } = unit.error;
      errors.push(cause ? [i, message, retryable, at, cause] : [i, message, retryable, at]);
    }
  }
  const body: Body = {
    id: checkpoint.id,
    seq,
    status: checkpoint.status,
    createdAt: checkpoint.createdAt,
    updatedAt: checkpoint.updatedAt,
    configDigest: checkpoint.configDigest,
    stats: checkpoint.stats,
    meta: checkpoint.meta,
    units: {
      keys,
      status: codes.join(''),
      attempts,
      done,
      total,
      cursor,
      startedAt,
      completedAt,
      errors,
    },
    idMaps: Object.entries(checkpoint.idMaps),
  };
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  const header = JSON.stringify({
    format: CHECKPOINT_FORMAT,
    snapshot: SNAPSHOT_VERSION,
    bytes: data.length,
    crc32: crc32Hex(data),
    data: null,
  });
  // `..."data":null}` becomes `..."data":\n<body>\n}\n`.
  const head = `${header.slice(0, -'null}'.length)}\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), data, Buffer.from(TAIL, 'utf8')]);
}

/** Decodes a snapshot, or throws {@link CheckpointFileError} naming `file`, the line and the cause. */
export function decodeSnapshot(input: Uint8Array | string, file: string): DecodedSnapshot {
  const bytes = toBuffer(input);
  const fail = (kind: CheckpointFileError['kind'], reason: string, line?: number): never => {
    throw new CheckpointFileError(file, kind, reason, line);
  };
  const newline = bytes.indexOf(10);
  const headerText = bytes.toString(
    'utf8',
    0,
    newline < 0 ? Math.min(bytes.length, 4096) : newline,
  );
  if (newline < 0 || !headerText.endsWith(HEADER_END)) {
    if (bytes.length === 0) fail('checksum', 'the snapshot is empty', 1);
    fail('json', 'the first line is not a checkpointkit snapshot header', 1);
  }
  let header: unknown;
  try {
    header = JSON.parse(`${headerText}null}`);
  } catch (error) {
    fail('json', `the snapshot header is not JSON (${jsonFailure(error)})`, 1);
  }
  assertKnownVersions(header, file, { field: 'snapshot', version: SNAPSHOT_VERSION });
  const parsed = HeaderSchema.safeParse(header);
  if (!parsed.success)
    fail('schema', `bad snapshot header: ${describeIssues(parsed.error.issues)}`, 1);
  const { bytes: size, crc32 } = parsed.data!;
  if (JSON.stringify(parsed.data) !== `${headerText}null}`)
    fail('checksum', 'the snapshot header is not as written', 1);
  const start = newline + 1;
  if (bytes.length !== start + size + TAIL.length) {
    fail(
      'checksum',
      `the snapshot is ${bytes.length} bytes, its header says ${start + size + TAIL.length} (cut short or appended to)`,
    );
  }
  if (bytes.toString('utf8', start + size) !== TAIL)
    fail('checksum', 'the snapshot does not end as written', 3);
  const data = bytes.subarray(start, start + size);
  const actual = crc32Hex(data);
  if (actual !== crc32)
    fail('checksum', `crc32 of the snapshot body is ${actual}, the header says ${crc32}`, 2);
  const split = splitIdMaps(data);
  let raw: unknown;
  try {
    raw = JSON.parse(split ? split.head : data.toString('utf8'));
  } catch (error) {
    fail('json', `the snapshot body is not JSON (${jsonFailure(error)})`, 2);
  }
  const body = BodySchema.safeParse(raw);
  if (!body.success) fail('schema', `bad snapshot body: ${describeIssues(body.error.issues)}`, 2);
  const decoded = buildCheckpoint(body.data!, file);
  if (split) deferIdMaps(decoded.checkpoint, split.idMaps, file);
  return decoded;
}

/** Where the units end and the id maps (the body's last field) begin. */
const ID_MAPS_FIELD = Buffer.from('},"idMaps":');

/**
 * Splits a body into its head (everything but the id maps, which become `[]`) and the id maps'
 * JSON (a copy, so the file's buffer can go). The last match is the field: the same text in a
 * cursor comes before it, and inside the maps (strings and numbers only) any quote is escaped.
 * Null when there are no maps to defer.
 */
function splitIdMaps(data: Buffer): { head: string; idMaps: Buffer } | null {
  const at = data.lastIndexOf(ID_MAPS_FIELD);
  if (at < 0 || data[data.length - 1] !== 0x7d /* } */) return null;
  const idMaps = Buffer.from(data.subarray(at + ID_MAPS_FIELD.length, data.length - 1));
  // `[]` needs no deferring: read it whole with the rest.
  if (idMaps.length <= 2) return null;
  return { head: `${data.toString('utf8', 0, at + ID_MAPS_FIELD.length)}[]}`, idMaps };
}

/**
 * Id maps are parsed when first used, not at open: at a million mappings they are half of a
 * snapshot's parse, and a job that only resumes its units never needs them. `checkpoint.idMaps`
 * is an accessor until then, which replaces itself with the parsed record (structuredClone,
 * JSON.stringify and the reducer all go through it). The bytes were checked with the crc32.
 */
function deferIdMaps(checkpoint: Checkpoint, json: Buffer, file: string): void {
  const settle = (value: Checkpoint['idMaps']) => {
    Object.defineProperty(checkpoint, 'idMaps', {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return value;
  };
  Object.defineProperty(checkpoint, 'idMaps', {
    enumerable: true,
    configurable: true,
    get: () => settle(parseIdMaps(json, file)),
    set: settle,
  });
}

function parseIdMaps(json: Buffer, file: string): Checkpoint['idMaps'] {
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new CheckpointFileError(
      file,
      'json',
      `the snapshot's idMaps are not JSON (${jsonFailure(error)})`,
      2,
    );
  }
  const maps = IdMapsSchema.safeParse(raw);
  if (!maps.success)
    throw new CheckpointFileError(
      file,
      'schema',
      `bad snapshot body: idMaps: ${describeIssues(maps.error.issues)}`,
      2,
    );
  return idMapsRecord(maps.data, file);
}

const isDate = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 20 && value.charCodeAt(10) === 84 /* T */;

function buildCheckpoint(body: Body, file: string): DecodedSnapshot {
  const columns = body.units;
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
  const { keys, status: codes, attempts, done, total, cursor, startedAt, completedAt } = columns;
  const units: Record<string, Unit> = {};
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    const status = STATUS_OF[codes.charCodeAt(i)];
    const a = attempts[i];
    const d = done[i];
    const t = total[i];
    const s = startedAt[i];
    const c = completedAt[i];
    if (typeof key !== 'string') bad('keys', i);
    if (status === undefined) bad('status', i);
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 0) bad('attempts', i);
    if (typeof d !== 'number' || !(d >= 0)) bad('done', i);
    if (t !== null && (typeof t !== 'number' || !(t >= 0))) bad('total', i);
    if (s !== null && !isDate(s)) bad('startedAt', i);
    if (c !== null && !isDate(c)) bad('completedAt', i);
    const unit: Unit = {
      status: status!,
      attempts: a as number,
      cursor: cursor[i] as Json,
      done: d as number,
      total: t as number | null,
      startedAt: s as string | null,
      completedAt: c as string | null,
      error: null,
    };
    if (key === '__proto__')
      Object.defineProperty(units, key, {
        value: unit,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else units[key as string] = unit;
  }
  for (const [index, message, retryable, at, cause] of columns.errors) {
    if (index >= n) bad('errors', index);
    units[keys[index] as string]!.error = cause
      ? { message, retryable, at, cause }
      : { message, retryable, at };
  }
  const idMaps = idMapsRecord(body.idMaps, file);
  return {
    seq: body.seq,
    checkpoint: {
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
    },
  };
}

/**
 * Id maps are kept as JSON objects, which JSON.parse builds faster than any loop could. Their
 * targets are not checked one by one: they were checked (ChangeSchema) before they were written,
 * and the crc32 proves these are the bytes written.
 */
function idMapsRecord(
  entries: readonly (readonly [string, Record<string, MappedId>])[],
  file: string,
): Checkpoint['idMaps'] {
  const idMaps: Record<string, Record<string, MappedId>> = {};
  for (const [name, map] of entries) {
    if (Object.hasOwn(idMaps, name)) {
      throw new CheckpointFileError(
        file,
        'schema',
        `bad snapshot body: id map "${name}" appears twice`,
        2,
      );
    }
    if (name === '__proto__')
      Object.defineProperty(idMaps, name, {
        value: map,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else idMaps[name] = map;
  }
  return idMaps;
}
