import { constants, type Stats } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SinkFileError, SinkFileLostError } from './errors.js';

/**
 * One output file, written at the offset this process knows it ends at: appends are written in
 * full and fdatasynced before they count, and the file can be cut back to an offset. Positioned
 * writes (not O_APPEND) let a failed append be undone and make the offset the one source of truth.
 */
export class DurableFile {
  readonly path: string;
  #handle: FileHandle;
  #size: number;

  private constructor(path: string, handle: FileHandle, size: number) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
  }

  /**
   * Opens (creating it and its folders when missing) and cuts the file back to `bytes`, so that
   * it holds exactly what the checkpoint acknowledged. A file shorter than `bytes` lost
   * acknowledged pages: {@link SinkFileLostError}.
   */
  static async open(path: string, bytes: number): Promise<DurableFile> {
    const handle = await attempt(path, 'open', () => openOrCreate(path));
    try {
      const stat = await attempt(path, 'open', () => handle.stat());
      // Positioned writes, cutting back and fdatasync mean nothing on a pipe or a device.
      if (!stat.isFile())
        throw new SinkFileError(path, 'open', new Error(`it is ${kindOf(stat)}, not a file`));
      const { size } = stat;
      if (size < bytes) throw new SinkFileLostError(path, bytes, size);
      if (size > bytes) {
        await attempt(path, 'cut back', async () => {
          await handle.truncate(bytes);
          await handle.datasync();
        });
      }
      return new DurableFile(path, handle, bytes);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** Bytes the file holds: everything written so far, all of it synced. */
  get size(): number {
    return this.#size;
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
    return this.#size;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

/** What a thing that is not a regular file is, for messages (a folder fails to open with EISDIR). */
function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}

async function openOrCreate(path: string): Promise<FileHandle> {
  try {
    return await open(path, constants.O_RDWR);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
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
    if (cause instanceof SinkFileLostError) throw cause;
    throw new SinkFileError(path, operation, cause);
  }
}
