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
import { CHECKPOINT_FORMAT, type Checkpoint, type Json } from '@checkpointkit/core';
import { z } from 'zod';
import { describeIssues, toBuffer } from './bytes.js';
import { CRC_PATTERN, crc32Hex } from './checksum.js';
import { CheckpointFileError } from './errors.js';
import { jsonFailure } from './json-error.js';
import {
  type Body,
  BodySchema,
  checkColumns,
  checkpointOfColumns,
  type DecodedSnapshot,
  type SnapshotColumns,
  STATUS_CODE,
} from './snapshot-body.js';
import { splitIdMaps } from './snapshot-id-maps.js';
import { assertKnownVersions } from './version.js';

export type { DecodedSnapshot, SnapshotColumns, UnitTally } from './snapshot-body.js';

/** Version of the snapshot encoding inside the `checkpointkit/1` format. */
export const SNAPSHOT_VERSION = 1;

const HEADER_END = '"data":';
const TAIL = '\n}\n';

const HeaderSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  snapshot: z.literal(SNAPSHOT_VERSION),
  bytes: z.number().int().nonnegative(),
  crc32: z.string().regex(CRC_PATTERN),
  data: z.null(),
});

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

/** How many of a snapshot's first bytes {@link checkSnapshotLength} needs to see. */
export const SNAPSHOT_HEAD_BYTES = 4096;

/** What a snapshot's first line says: where the body starts, its length and its crc32. */
interface SnapshotHeader {
  start: number;
  size: number;
  crc32: string;
}

/** Decodes a snapshot's first line (from the whole file or its first bytes), or throws. */
function decodeHeader(bytes: Buffer, file: string): SnapshotHeader {
  const fail = (kind: CheckpointFileError['kind'], reason: string, line?: number): never => {
    throw new CheckpointFileError(file, kind, reason, line);
  };
  const newline = bytes.indexOf(10);
  const headerText = bytes.toString(
    'utf8',
    0,
    newline < 0 ? Math.min(bytes.length, SNAPSHOT_HEAD_BYTES) : newline,
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
  if (JSON.stringify(parsed.data) !== `${headerText}null}`)
    fail('checksum', 'the snapshot header is not as written', 1);
  return { start: newline + 1, size: parsed.data!.bytes, crc32: parsed.data!.crc32 };
}

/**
 * Checks a snapshot's first line, and the file's length against the one it declares, from the
 * file's first bytes ({@link SNAPSHOT_HEAD_BYTES} are enough) and its size. Throws the
 * {@link CheckpointFileError} that {@link decodeSnapshot} would, so a reader refuses junk, or a
 * snapshot cut short or grown, without reading all of it.
 */
export function checkSnapshotLength(head: Uint8Array, size: number, file: string): void {
  checkLength(decodeHeader(toBuffer(head), file), size, file);
}

function checkLength(header: SnapshotHeader, size: number, file: string): void {
  const declared = header.start + header.size + TAIL.length;
  if (size !== declared) {
    throw new CheckpointFileError(
      file,
      'checksum',
      `the snapshot is ${size} bytes, its header says ${declared} (cut short or appended to)`,
    );
  }
}

/** Decodes a snapshot, or throws {@link CheckpointFileError} naming `file`, the line and the cause. */
export function decodeSnapshot(input: Uint8Array | string, file: string): DecodedSnapshot {
  return checkpointOfColumns(decodeSnapshotColumns(input, file));
}

/**
 * Checks a snapshot as {@link decodeSnapshot} does (throwing the same errors) and counts its
 * units, without building them.
 */
export function decodeSnapshotColumns(input: Uint8Array | string, file: string): SnapshotColumns {
  const bytes = toBuffer(input);
  const fail = (kind: CheckpointFileError['kind'], reason: string, line?: number): never => {
    throw new CheckpointFileError(file, kind, reason, line);
  };
  const header = decodeHeader(bytes, file);
  checkLength(header, bytes.length, file);
  const { start, size, crc32 } = header;
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
  return {
    body: body.data!,
    idMaps: split ? split.idMaps : null,
    file,
    tally: checkColumns(body.data!.units, file),
  };
}
