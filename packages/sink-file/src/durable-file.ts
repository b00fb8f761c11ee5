import { createHash } from 'node:crypto';
import { type BigIntStats, constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SinkFileChangedError, SinkFileError, SinkFileLostError } from './errors.js';

/** How many of a file's last bytes its fingerprint covers. */
const TAIL_BYTES = 64;

/**
 * A short hash of a file's last bytes, recorded with its size: on resume it tells the file the
 * sink wrote from another one of at least that size (replaced, or another working directory's)
 * before anything is cut. Cheap at any file size; changes further back go unseen.
 */
function fingerprintOf(tail: Uint8Array): string {
  return createHash('sha256').update(tail).digest('hex').slice(0, 16);
}

/**
 * One output file, written at the offset this process knows it ends at: appends are written in
 * full and fdatasynced before they count, and the file can be cut back to an offset. Positioned
 * writes (not O_APPEND) let a failed append be undone and make the offset the one source of truth.
 */
export class DurableFile {
  readonly path: string;
  #handle: FileHandle;
  #size: number;
  /** The file's last bytes (up to {@link TAIL_BYTES}). */
  #tail: Buffer;

  private constructor(path: string, handle: FileHandle, size: number, tail: Buffer) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
    this.#tail = tail;
  }

  /**
   * Opens (creating it and its folders when missing) and cuts the file back to `bytes`, so that
   * it holds exactly what the checkpoint acknowledged. A file shorter than `bytes` lost
   * acknowledged pages: {@link SinkFileLostError} (a missing one is not created). One whose last
   * bytes do not match `fingerprint` (when the checkpoint has one) is another file:
   * {@link SinkFileChangedError}. Both leave the file as it was, and so does `claim`, which gets
   * the file's identity (`device:inode`) before anything is cut and throws when the file is
   * another output's (a link to it).
   */
  static async open(
    path: string,
    bytes: number,
    { fingerprint, claim }: { fingerprint?: string; claim?: (identity: string) => void } = {},
  ): Promise<DurableFile> {
    const handle = await attempt(path, 'open', () => openOrCreate(path, bytes === 0));
    if (!handle) throw new SinkFileLostError(path, bytes, 0);
    try {
      // Bigint: an inode number may pass 2^53 on some file systems.
      const stat = await attempt(path, 'open', () => handle.stat({ bigint: true }));
      // Positioned writes, cutting back and fdatasync mean nothing on a pipe or a device.
      if (!stat.isFile())
        throw new SinkFileError(path, 'open', new Error(`it is ${kindOf(stat)}, not a file`));
      claim?.(fileIdentity(stat));
      const size = Number(stat.size);
      if (size < bytes) throw new SinkFileLostError(path, bytes, size);
      const tail = Buffer.alloc(Math.min(bytes, TAIL_BYTES));
      await attempt(path, 'read', () => handle.read(tail, 0, tail.length, bytes - tail.length));
      if (fingerprint !== undefined && fingerprintOf(tail) !== fingerprint) {
        throw new SinkFileChangedError(
          path,
          `its bytes before offset ${bytes} differ from the last ones the sink wrote there`,
        );
      }
      if (size > bytes) {
        await attempt(path, 'cut back', async () => {
          await handle.truncate(bytes);
          await handle.datasync();
        });
      }
      return new DurableFile(path, handle, bytes, tail);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** Bytes the file holds: everything written so far, all of it synced. */
  get size(): number {
    return this.#size;
  }

  /** The fingerprint of what the file holds, to record with its size. */
  get fingerprint(): string {
    return fingerprintOf(this.#tail);
  }

  /** Writes `data` at the end, syncs it, and returns the new size. A failed append is cut off again. */
  async append(data: Uint8Array): Promise<number> {
    const start = this.#size;
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await this.#handle.write(
          data,
          written,
          data.length - written,
          start + written,
        );
        written += bytesWritten;
      }
      await this.#handle.datasync();
    } catch (cause) {
      // Leave no partial page behind: the next append writes at `start` again.
      await this.#handle.truncate(start).catch(() => {});
      throw new SinkFileError(this.path, 'write', cause);
    }
    this.#size = start + data.length;
    // A copy of the last bytes only: a page may be megabytes.
    this.#tail =
      data.length >= TAIL_BYTES
        ? Buffer.from(data.subarray(data.length - TAIL_BYTES))
        : Buffer.concat([this.#tail, data]).subarray(-TAIL_BYTES);
    return this.#size;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

/** What tells a file from every other one, whatever name or link reaches it. */
export function fileIdentity(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}`;
}

/** What a thing that is not a regular file is, for messages (a folder fails to open with EISDIR). */
function kindOf(stat: BigIntStats): string {
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}

/** Opens the file, or creates it when `create`; null when it is missing and may not be created. */
async function openOrCreate(path: string, create: boolean): Promise<FileHandle | null> {
  try {
    return await open(path, constants.O_RDWR);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // A file the checkpoint says holds pages is lost: an empty one in its place would hide that.
  if (!create) return null;
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT);
  // A new file's name must survive a power loss as its content does: sync the folder once.
  await syncDir(dirname(path));
  return handle;
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // a folder cannot be opened for fsync there
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function attempt<T>(path: string, operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    if (cause instanceof SinkFileLostError || cause instanceof SinkFileChangedError) throw cause;
    throw new SinkFileError(path, operation, cause);
  }
}
