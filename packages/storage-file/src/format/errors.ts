import type { Stats } from 'node:fs';
import { CheckpointFormatError } from '@checkpointkit/core';

/**
 * What is wrong with a checkpoint file:
 * - `json`: a line or document that is not JSON
 * - `schema`: JSON that is not what the format says (a change, a column, the envelope)
 * - `checksum`: bytes that differ from what was written (length or crc32)
 * - `version`: a format tag or format version this version of the store does not know
 * - `sequence`: journal batches out of order, or a journal that does not fit its snapshot
 * - `missing`: a file that must exist does not (a journal that continues a deleted snapshot)
 * - `mismatch`: files that belong to another checkpoint id
 * - `lost`: a journal that ends before the last batch that was acknowledged (it was cut or
 *   replaced: a crash tears only the batch in flight)
 * - `size`: a file larger than one read can hold (2 GiB), left unread
 * - `type`: a folder, named pipe, socket or device where a file should be, left unread
 */
export type CheckpointFileErrorKind =
  | 'json'
  | 'schema'
  | 'checksum'
  | 'version'
  | 'sequence'
  | 'missing'
  | 'mismatch'
  | 'lost'
  | 'size'
  | 'type';

/**
 * A checkpoint snapshot or journal that cannot be read. Names the file, the line (1-based, when
 * the damage is in one line) and the cause. The store never modifies such a file on its own:
 * `repair` moves it aside explicitly.
 */
export class CheckpointFileError extends CheckpointFormatError {
  override name = 'CheckpointFileError';
  /** The damaged file, as given to the parser. */
  declare readonly file: string;
  constructor(
    file: string,
    readonly kind: CheckpointFileErrorKind,
    reason: string,
    line?: number,
    options?: { cause?: unknown },
  ) {
    super(file, reason, line, options);
  }
}

/** Node reads at most this many bytes into one buffer (2 GiB less one byte). */
export const MAX_READ_BYTES = 2 ** 31 - 1;

/**
 * Refuses a file larger than one read can hold before it is read: throws a
 * {@link CheckpointFileError} of kind `size` naming it (Node's own error names no file).
 */
export function checkReadableSize(file: string, size: number): void {
  if (size > MAX_READ_BYTES) {
    throw new CheckpointFileError(
      file,
      'size',
      `the file is ${(size / 1024 ** 3).toFixed(1)} GiB, more than one read can hold (2 GiB); it was not read`,
    );
  }
}

/** What a thing that is not a regular file is, for messages: `a folder`, `a named pipe`. */
export function describeNonFile(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Refuses what is not a regular file before it is read: throws a {@link CheckpointFileError} of
 * kind `type` naming it (reading a folder fails with an error that names no file; a named pipe
 * would wait for a writer).
 */
export function checkRegularFile(file: string, stat: Stats): void {
  if (!stat.isFile())
    throw new CheckpointFileError(
      file,
      'type',
      `it is ${describeNonFile(stat)}, not a file; it was not read`,
    );
}
