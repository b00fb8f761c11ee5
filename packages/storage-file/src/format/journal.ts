/**
 * The journal: an append-only file of changes beside the snapshot, one JSON line per change.
 *
 * ```text
 * {"format":"checkpointkit/1","journal":1,"id":"job:1","base":0,"crc32":"…"}   header
 * {"type":"created","at":"…","id":"job:1","configDigest":null}                 change
 * {"type":"unit.planned","at":"…","key":"a/b"}                                 change
 * {"commit":1,"changes":2,"crc32":"…"}                                         end of batch 1
 * ```
 *
 * One `append` is one batch: its change lines and a commit line, written with one write and
 * fsynced. A batch counts only once its commit line is complete, so an append is all-or-nothing:
 * what a crash left after the last commit line is a torn tail, dropped and reported. Batches are
 * numbered without gaps across compactions; the header says which snapshot batch (`base`) the
 * journal continues. The commit line's crc32 covers the batch's bytes, the header's crc32 its
 * fields, so damage anywhere before the tail is detected rather than replayed.
 */
import { CHECKPOINT_FORMAT, type Change, ChangeSchema } from '@checkpointkit/core';
import { z } from 'zod';
import { describeIssues } from './bytes.js';
import { CRC_PATTERN, crc32Hex } from './checksum.js';
import { CheckpointFileError } from './errors.js';
import { jsonFailure } from './json-error.js';
import { assertKnownVersions } from './version.js';

/** Version of the journal encoding inside the `checkpointkit/1` format. */
export const JOURNAL_VERSION = 1;

const HeaderSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  journal: z.literal(JOURNAL_VERSION),
  id: z.string().min(1),
  base: z.number().int().nonnegative(),
  crc32: z.string().regex(CRC_PATTERN),
});

const CommitSchema = z.strictObject({
  commit: z.number().int().positive(),
  changes: z.number().int().nonnegative(),
  crc32: z.string().regex(CRC_PATTERN),
});

export interface JournalHeader {
  id: string;
  /** The snapshot batch this journal continues: its first batch is `base + 1`. */
  base: number;
}

export interface JournalBatch {
  seq: number;
  changes: Change[];
  /** 1-based line of the batch's first change. */
  line: number;
  /** Bytes of the batch in the journal, its change lines and commit line (newline included). */
  bytes: number;
}

export interface ParsedJournal {
  header: JournalHeader;
  batches: JournalBatch[];
  /** Bytes up to the end of the last complete batch (or of the header). */
  validLength: number;
  /** Bytes of the header line, newline included. */
  headerLength: number;
  tornTail: { line: number; bytes: number } | null;
  /** False when the header line is damaged (lenient reads only: a strict read throws). */
  headerValid: boolean;
  /**
   * The last batch is whole and verifies but its final newline is missing (the file was cut by
   * one byte): it counts, and the next append writes the newline first.
   */
  unterminated: boolean;
}

/** Damage found while reading in lenient mode (repair): what was skipped and why. */
export interface JournalDamage {
  line: number;
  error: CheckpointFileError;
}

const headerCrc = (id: string, base: number) =>
  crc32Hex(JSON.stringify([CHECKPOINT_FORMAT, JOURNAL_VERSION, id, base]));

/** The header line of a journal that continues snapshot batch `base`. */
export function encodeJournalHeader(id: string, base: number): Buffer {
  const header = {
    format: CHECKPOINT_FORMAT,
    journal: JOURNAL_VERSION,
    id,
    base,
    crc32: headerCrc(id, base),
  };
  return Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
}

/** One batch: the change lines and the commit line, ready to be written with one write. */
export function encodeBatch(changes: readonly Change[], seq: number): Buffer {
  let lines = '';
  for (const change of changes) lines += `${JSON.stringify(change)}\n`;
  const data = Buffer.from(lines, 'utf8');
  const commit = {
    commit: seq,
    changes: changes.length,
    crc32: crc32Hex(`#${seq}/${changes.length}`, crc32Hex(data)),
  };
  return Buffer.concat([data, Buffer.from(`${JSON.stringify(commit)}\n`, 'utf8')]);
}

/**
 * Reads a journal. Strict (the default): the first damage throws {@link CheckpointFileError}
 * naming `file`, the line and the cause. Lenient (`onDamage` given, for repair): damaged batches
 * are skipped and reported, and every batch whose bytes verify is returned.
 */
export function parseJournal(
  bytes: Buffer,
  file: string,
  onDamage?: (damage: JournalDamage) => void,
): ParsedJournal {
  const fail = (
    kind: CheckpointFileError['kind'],
    reason: string,
    line: number,
  ): CheckpointFileError => new CheckpointFileError(file, kind, reason, line);

  const firstNewline = bytes.indexOf(10);
  let header: JournalHeader | null = null;
  if (firstNewline < 0) {
    const error = fail(
      bytes.length === 0 ? 'checksum' : 'json',
      bytes.length === 0 ? 'the journal is empty' : 'the journal header line is cut short',
      1,
    );
    if (!onDamage) throw error;
    onDamage({ line: 1, error });
  } else {
    try {
      header = parseHeader(bytes.toString('utf8', 0, firstNewline), file);
    } catch (error) {
      if (!onDamage || !(error instanceof CheckpointFileError)) throw error;
      onDamage({ line: 1, error });
    }
  }
  const headerLength = firstNewline < 0 ? bytes.length : firstNewline + 1;

  const batches: JournalBatch[] = [];
  let pending: Change[] = [];
  let pendingStart = headerLength;
  let pendingLine = 2;
  let damaged: CheckpointFileError | null = null;
  let validLength = headerLength;
  let validLine = 2;
  let expected = header ? header.base + 1 : null;
  let pos = headerLength;
  let line = 2;

  const damage = (error: CheckpointFileError) => {
    if (!onDamage) throw error;
    if (!damaged) onDamage({ line: error.line ?? line, error });
    damaged ??= error;
  };

  let unterminated = false;
  while (pos < bytes.length) {
    let end = bytes.indexOf(10, pos);
    if (end < 0) {
      // An unterminated last line is part of a torn tail, unless it is a whole commit line
      // whose batch verifies: then only the newline after it is missing.
      if (!isWholeCommitLine(bytes, pos, pendingStart, pending.length)) break;
      end = bytes.length;
      unterminated = true;
    }
    if (end === pos) damage(fail('json', 'empty line', line));
    else {
      let record: unknown;
      let isJson = true;
      try {
        record = JSON.parse(bytes.toString('utf8', pos, end));
      } catch (error) {
        isJson = false;
        damage(fail('json', `not JSON (${jsonFailure(error)})`, line));
      }
      if (isJson && record !== null && typeof record === 'object' && 'commit' in record) {
        const commit = CommitSchema.safeParse(record);
        let error: CheckpointFileError | null = null;
        if (!commit.success)
          error = fail('schema', `bad commit line: ${describeIssues(commit.error.issues)}`, line);
        else {
          const { commit: seq, changes: count, crc32 } = commit.data;
          const actual = crc32Hex(`#${seq}/${count}`, crc32Hex(bytes.subarray(pendingStart, pos)));
          if (damaged) error = damaged;
          else if (
            JSON.stringify({ commit: seq, changes: count, crc32 }) !==
            bytes.toString('utf8', pos, end)
          ) {
            error = fail('checksum', `the commit line of batch ${seq} is not as written`, line);
          } else if (count !== pending.length) {
            error = fail(
              'checksum',
              `batch ${seq} says ${count} changes, the journal holds ${pending.length}`,
              line,
            );
          } else if (actual !== crc32) {
            error = fail(
              'checksum',
              `crc32 of batch ${seq} (lines ${pendingLine}-${line - 1}) is ${actual}, its commit line says ${crc32}`,
              line,
            );
          } else if (expected !== null && seq !== expected) {
            error = fail('sequence', `batch ${seq} where batch ${expected} was due`, line);
          }
          if (!error) {
            batches.push({
              seq,
              changes: pending,
              line: pendingLine,
              bytes: Math.min(end + 1, bytes.length) - pendingStart,
            });
            expected = seq + 1;
          }
        }
        if (error) {
          if (!onDamage) throw error;
          if (!damaged) onDamage({ line, error });
          if (commit.success) expected = commit.data.commit + 1;
        }
        pending = [];
        damaged = null;
        pendingStart = end + 1;
        pendingLine = line + 1;
        validLength = Math.min(end + 1, bytes.length);
        validLine = line + 1;
      } else if (isJson) {
        const change = ChangeSchema.safeParse(record);
        if (change.success) pending.push(change.data);
        else damage(fail('schema', `not a change: ${describeIssues(change.error.issues)}`, line));
      }
    }
    pos = end + 1;
    line += 1;
  }
  const tornTail =
    validLength < bytes.length ? { line: validLine, bytes: bytes.length - validLength } : null;
  return {
    header: header ?? { id: '', base: batches.length > 0 ? batches[0]!.seq - 1 : 0 },
    batches,
    validLength,
    headerLength,
    headerValid: header !== null,
    tornTail,
    unterminated: unterminated && validLength === bytes.length,
  };
}

/** Whether bytes[pos..] is exactly the commit line, as written, of the batch that starts at `start`. */
function isWholeCommitLine(bytes: Buffer, pos: number, start: number, count: number): boolean {
  let record: unknown;
  try {
    record = JSON.parse(bytes.toString('utf8', pos));
  } catch {
    return false;
  }
  const commit = CommitSchema.safeParse(record);
  if (!commit.success) return false;
  const { commit: seq, changes, crc32 } = commit.data;
  return (
    changes === count &&
    JSON.stringify({ commit: seq, changes, crc32 }) === bytes.toString('utf8', pos) &&
    crc32Hex(`#${seq}/${changes}`, crc32Hex(bytes.subarray(start, pos))) === crc32
  );
}

function parseHeader(text: string, file: string): JournalHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CheckpointFileError(
      file,
      'json',
      `the journal header is not JSON (${jsonFailure(error)})`,
      1,
    );
  }
  assertKnownVersions(raw, file, { field: 'journal', version: JOURNAL_VERSION });
  const parsed = HeaderSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CheckpointFileError(
      file,
      'schema',
      `bad journal header: ${describeIssues(parsed.error.issues)}`,
      1,
    );
  }
  const { id, base, crc32 } = parsed.data;
  if (
    headerCrc(id, base) !== crc32 ||
    encodeJournalHeader(id, base).toString('utf8') !== `${text}\n`
  ) {
    throw new CheckpointFileError(
      file,
      'checksum',
      'the journal header is not as written (its crc32 or its bytes differ)',
      1,
    );
  }
  return { id, base };
}
