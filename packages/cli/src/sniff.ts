import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { CheckpointFormatError } from '@checkpointkit/core';
import { describeNonFile } from '@checkpointkit/storage-file';
import { CliError } from './errors.js';
import { byteExcerpt } from './excerpt.js';
import { EXIT } from './exit-codes.js';
import { formatSize } from './size.js';

/** How much of a file is looked at before it is read whole. */
const HEAD_BYTES = 64 * 1024;

/** A file larger than the limit a checkpoint file is read up to (`--max-size`). */
export class FileTooLargeError extends CliError {
  override name = 'FileTooLargeError';
  constructor(
    readonly file: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      `${file}: ${formatSize(size)}, over the ${formatSize(limit)} limit for a checkpoint file; it was not read (pass --max-size to read a larger one)`,
      EXIT.DAMAGED,
    );
  }
}

/** A file whose first bytes are not UTF-8 text: no checkpoint format can be in it. */
export class BinaryFileError extends CheckpointFormatError {
  override name = 'BinaryFileError';
}

/**
 * Looks at a file before it is read and parsed, which takes seconds and several times its size
 * in memory: refuses one whose first 64 KiB are not UTF-8 text (every checkpoint format is JSON),
 * then one over `maxSize` bytes, and a named pipe, socket or device (which a read would wait on).
 * A file that cannot be opened, or a folder, is left to the reader, which reports it. Returns
 * the bytes looked at (null when nothing was looked at).
 */
export async function sniffFile(file: string, maxSize: number): Promise<Buffer | null> {
  // Non-blocking: a named pipe opened plainly waits for a writer, maybe for ever.
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch(
    async () => {
      // A socket cannot be opened at all (ENXIO, which names no cause a user knows): said as
      // what it is, like a pipe. Anything else that fails to open is left to the reader.
      const info = await stat(file).catch(() => null);
      if (info?.isSocket()) throw notAFile(file, info);
      return null;
    },
  );
  if (!handle) return null;
  try {
    const info = await handle.stat();
    // A folder is left to the reader, which says so; anything else would never be read.
    if (info.isDirectory()) return null;
    if (!info.isFile()) throw notAFile(file, info);
    const head = Buffer.alloc(Math.min(info.size, HEAD_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    const problem = textProblem(bytes);
    if (problem) {
      throw new BinaryFileError(
        file,
        `not a checkpoint: ${problem}; it starts with ${byteExcerpt(bytes)}; checkpoint files are UTF-8 JSON text`,
      );
    }
    // After the look at the first bytes: binary junk is no checkpoint at any size limit.
    if (info.size > maxSize) throw new FileTooLargeError(file, info.size, maxSize);
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Why `bytes` (the start of a file) are not the start of UTF-8 JSON text, or null. */
function textProblem(bytes: Buffer): string | null {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return 'UTF-16 text';
  }
  // JSON allows no control character but tab, line feed and carriage return, not even in strings.
  const control = bytes.findIndex(
    (byte) => byte < 0x20 && byte !== 9 && byte !== 10 && byte !== 13,
  );
  if (control >= 0) {
    return `binary data (a 0x${bytes[control]!.toString(16).padStart(2, '0')} byte at offset ${control})`;
  }
  try {
    // `stream`: a character cut off at the end of the excerpt is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
  } catch {
    return 'binary data (bytes that are not UTF-8)';
  }
  return null;
}

/**
 * Refuses a named pipe, socket or device at `file` (exit 2, as {@link sniffFile} does), without
 * looking at what a file holds: for a file whose content its reader judges (the ack mark, which
 * reads as none when it holds none). A missing file or a folder is left to the reader.
 */
export async function refuseNonFile(file: string): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (info && !info.isFile() && !info.isDirectory()) throw notAFile(file, info);
}

/** A path that is a named pipe, socket or device: never read (a read would wait on it). */
export function notAFile(file: string, info: Stats): CliError {
  return new CliError(
    `${file}: it is ${describeNonFile(info)}, not a checkpoint file; it was not read`,
    EXIT.USAGE,
  );
}
