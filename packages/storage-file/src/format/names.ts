/**
 * Checkpoint ids become file names safely and reversibly. The encoding keeps `a-z`, `0-9`, `-`,
 * `_` and `.` (not leading), writes an upper-case letter as `^` plus its lower-case form and every
 * other UTF-8 byte as `%hh` (lower-case hex). So names are lower-case ASCII only (no collisions
 * on case-insensitive or normalizing file systems), never contain a path separator, never start
 * with a dot, and never form a Windows device name.
 *
 * A name has at most 255 bytes on most file systems, so an id whose encoding passes
 * {@link MAX_ENCODED_STEM} bytes is stored under a shortened stem: a prefix of its encoding, `~`,
 * and the sha256 of the id. Such a name still identifies the id uniquely, but cannot be decoded:
 * the id is read from the files' content, which always holds it.
 */
import { createHash } from 'node:crypto';
import { CheckpointError } from '@checkpointkit/core';

/** Suffix of a checkpoint's snapshot: `<encoded-id>.checkpoint.json` (glob `**\/*.checkpoint.json`). */
export const SNAPSHOT_SUFFIX = '.checkpoint.json';
/** Suffix of a checkpoint's journal beside the snapshot: `<encoded-id>.checkpoint.jsonl`. */
export const JOURNAL_SUFFIX = '.checkpoint.jsonl';
/** Suffix of the lock directory a process makes while it holds the checkpoint (see store/lock.ts). */
export const LOCK_SUFFIX = '.checkpoint.lock';
/**
 * Suffix of the mark of the last acknowledged journal batch: `<encoded-id>.checkpoint.ack`. A
 * journal that ends before that batch lost acknowledged changes (it was cut or replaced): damage,
 * not a crash, which can tear only the batch in flight.
 */
export const ACK_SUFFIX = '.checkpoint.ack';
/** Infix of a torn journal tail kept aside when the next append cuts it: `<journal>.torn-<time>`. */
export const TORN_INFIX = '.torn-';
/**
 * Suffix of the previous generation of a snapshot or journal (`<stem>.checkpoint.json.prev`,
 * `<stem>.checkpoint.jsonl.prev`): a compaction keeps the pair it replaces until the next one,
 * so `repair` can rebuild the whole history when the newest snapshot is damaged.
 */
export const PREVIOUS_SUFFIX = '.prev';
/** Infix of a file `repair` replaced or removed, kept byte for byte: `<name>.corrupt-<time>`. */
export const CORRUPT_INFIX = '.corrupt-';
/** Longest encoded id kept whole in a file name; longer ones are shortened with a hash. */
export const MAX_ENCODED_STEM = 150;
const SHORT_PREFIX = 100;
const HASH_MARK = '~';

const DEVICE_NAMES = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])$/;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isLiteral(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x5f || // _
    code === 0x2e // .
  );
}

const hex = (byte: number) => `%${byte.toString(16).padStart(2, '0')}`;

function encodeFull(id: string): string {
  const bytes = utf8.encode(id);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte >= 0x41 && byte <= 0x5a) out += `^${String.fromCharCode(byte + 0x20)}`;
    else if (isLiteral(byte) && !(i === 0 && byte === 0x2e)) out += String.fromCharCode(byte);
    else out += hex(byte);
  }
  const device = out.split('.', 1)[0]!;
  if (DEVICE_NAMES.test(device)) out = hex(out.charCodeAt(0)) + out.slice(1);
  return out;
}

/** The file-name stem of a checkpoint id: its encoding, or a shortened form for very long ids. */
export function encodeCheckpointId(id: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new CheckpointError('a checkpoint id must be a non-empty string');
  }
  const full = encodeFull(id);
  if (full.length <= MAX_ENCODED_STEM) return full;
  let cut = SHORT_PREFIX;
  // Never cut an escape (`%hh`, `^x`) in half.
  const lastPercent = full.lastIndexOf('%', cut - 1);
  if (lastPercent >= 0 && lastPercent > cut - 3) cut = lastPercent;
  if (full[cut - 1] === '^') cut -= 1;
  const digest = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 32);
  return `${full.slice(0, cut)}${HASH_MARK}${digest}`;
}

/**
 * The id a stem encodes, or null when the stem is not a canonical encoding (not ours) or is a
 * shortened stem of a long id (see {@link isShortenedStem}).
 */
export function decodeCheckpointStem(stem: string): string | null {
  if (stem.length === 0 || stem.includes(HASH_MARK)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < stem.length; i++) {
    const code = stem.charCodeAt(i);
    if (code === 0x25 /* % */) {
      const pair = stem.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(pair)) return null;
      bytes.push(Number.parseInt(pair, 16));
      i += 2;
    } else if (code === 0x5e /* ^ */) {
      const next = stem.charCodeAt(i + 1);
      if (!(next >= 0x61 && next <= 0x7a)) return null;
      bytes.push(next - 0x20);
      i += 1;
    } else if (isLiteral(code)) bytes.push(code);
    else return null;
  }
  let id: string;
  try {
    id = strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
  // Only the canonical encoding counts: one id, one name.
  return id.length > 0 && encodeCheckpointId(id) === stem ? id : null;
}

/** True for the stem of an id too long to be kept whole in a file name. */
export function isShortenedStem(stem: string): boolean {
  const mark = stem.lastIndexOf(HASH_MARK);
  return (
    mark > 0 && /^[0-9a-f]{32}$/.test(stem.slice(mark + 1)) && decodePrefixOk(stem.slice(0, mark))
  );
}

function decodePrefixOk(prefix: string): boolean {
  return /^(?:[a-z0-9._-]|%[0-9a-f]{2}|\^[a-z])+$/.test(prefix);
}

/** `<encoded-id>.checkpoint.json`: the snapshot's file name. */
export function checkpointFileName(id: string): string {
  return encodeCheckpointId(id) + SNAPSHOT_SUFFIX;
}

/** `<encoded-id>.checkpoint.jsonl`: the journal's file name, beside the snapshot. */
export function journalFileName(id: string): string {
  return encodeCheckpointId(id) + JOURNAL_SUFFIX;
}

/** `<encoded-id>.checkpoint.lock`: the lock directory's name. */
export function lockFileName(id: string): string {
  return encodeCheckpointId(id) + LOCK_SUFFIX;
}

/**
 * The stem of a snapshot or journal file name of ours (`<stem>.checkpoint.json[l]`), or null.
 * Accepts a bare name or a path; only the last segment counts.
 */
export function checkpointStemFromFileName(name: string): string | null {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  for (const suffix of [SNAPSHOT_SUFFIX, JOURNAL_SUFFIX]) {
    if (!base.endsWith(suffix)) continue;
    const stem = base.slice(0, -suffix.length);
    if (decodeCheckpointStem(stem) !== null || isShortenedStem(stem)) return stem;
  }
  return null;
}

/**
 * The checkpoint id of a snapshot or journal file name of ours (bare name or path), or null when
 * the name is not one of ours. Also null for an id too long to be kept whole in a name (its stem
 * ends with `~` and a hash): read those ids from the content, e.g. with `parseCheckpointFiles`.
 */
export function checkpointIdFromFileName(name: string): string | null {
  const stem = checkpointStemFromFileName(name);
  return stem === null ? null : decodeCheckpointStem(stem);
}

/** The snapshot, journal, lock and ack names that belong with a snapshot or journal file name of ours. */
export function checkpointFilesOf(
  name: string,
): { snapshot: string; journal: string; lock: string; ack: string } | null {
  const stem = checkpointStemFromFileName(name);
  if (stem === null) return null;
  return {
    snapshot: stem + SNAPSHOT_SUFFIX,
    journal: stem + JOURNAL_SUFFIX,
    lock: stem + LOCK_SUFFIX,
    ack: stem + ACK_SUFFIX,
  };
}
