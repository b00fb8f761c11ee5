import { createHash } from 'node:crypto';
import { type BigIntStats, constants, fstatSync, statSync } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  SinkFileChangedError,
  SinkFileDisturbedError,
  SinkFileError,
  SinkFileLostError,
} from './errors.js';

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
  /** `device:inode` of the file opened, to tell whether the path still reaches it. */
  readonly #identity: string;
  /** Set once the file was found disturbed: no append goes through after it. */
  #disturbed: SinkFileDisturbedError | null = null;
  /** Holds the file by its identity once it has other names (see {@link DurableFile.open}). */
  #onLinked: ((identity: string) => Promise<void>) | null;
  #linkHeld: boolean;

  private constructor(
    path: string,
    handle: FileHandle,
    size: number,
    tail: Buffer,
    identity: string,
    linked: { held: boolean; hold: ((identity: string) => Promise<void>) | null },
  ) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
    this.#tail = tail;
    this.#identity = identity;
    this.#linkHeld = linked.held;
    this.#onLinked = linked.hold;
  }

  /**
   * Opens (creating it and its folders when missing) and cuts the file back to `bytes`, so that
   * it holds exactly what the checkpoint acknowledged. A file shorter than `bytes` lost
   * acknowledged pages: {@link SinkFileLostError} (a missing one is not created). One whose last
   * bytes do not match `fingerprint` (when the checkpoint has one) is another file:
   * {@link SinkFileChangedError}. Both leave the file as it was, and so does `claim`, which gets
   * the file's identity (`device:inode`) before anything is cut and throws (or rejects) when the
   * file is another output's (a link to it) or another job holds it; `linked` tells it whether
   * the file has other names (hard links). `linked` (the option) is called with the identity when
   * the per-page checks find other names later, before the next write. With `was`, the file is one this process wrote and closed
   * (while idle), to open again as it left it: it must be that file (`was` is its identity),
   * holding exactly `bytes`, else {@link SinkFileDisturbedError}; nothing is cut.
   */
  static async open(
    path: string,
    bytes: number,
    {
      fingerprint,
      claim,
      linked,
      was,
    }: {
      fingerprint?: string;
      claim?: (identity: string, linked: boolean) => void | Promise<void>;
      linked?: (identity: string) => Promise<void>;
      was?: string;
    } = {},
  ): Promise<DurableFile> {
    const handle = await attempt(path, 'open', () => openOrCreate(path, bytes === 0));
    if (!handle && was !== undefined) throw new SinkFileDisturbedError(path, MISSING);
    if (!handle) throw new SinkFileLostError(path, bytes, 0);
    try {
      // Bigint: an inode number may pass 2^53 on some file systems.
      const stat = await attempt(path, 'open', () => handle.stat({ bigint: true }));
      // Positioned writes, cutting back and fdatasync mean nothing on a pipe or a device.
      if (!stat.isFile())
        throw new SinkFileError(path, 'open', new Error(`it is ${kindOf(stat)}, not a file`));
      const identity = fileIdentity(stat);
      const disturbed = was === undefined ? null : disturbanceOf(stat, was, bytes);
      if (disturbed) throw new SinkFileDisturbedError(path, disturbed);
      const links = stat.nlink > 1n;
      await claim?.(identity, links);
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
      return new DurableFile(path, handle, bytes, tail, identity, {
        held: links,
        hold: linked ?? null,
      });
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** `device:inode` of the file, for {@link DurableFile.open}'s `was` when it is opened again. */
  get identity(): string {
    return this.#identity;
  }

  /** Bytes the file holds: everything written so far, all of it synced. */
  get size(): number {
    return this.#size;
  }

  /** The fingerprint of what the file holds, to record with its size. */
  get fingerprint(): string {
    return fingerprintOf(this.#tail);
  }

  /**
   * Writes `data` at the end, syncs it, and returns the new size. A failed append is cut off
   * again. Throws {@link SinkFileDisturbedError} when the file was disturbed since the last
   * append (see {@link DurableFile.#disturbance}), and from then on.
   */
  async append(data: Uint8Array): Promise<number> {
    if (this.#disturbed) throw this.#disturbed;
    const start = this.#size;
    // Before writing: a file cut or written by someone else would get a hole of zeros, or have
    // their bytes written over, at the offset this process knows.
    const seen = this.#fstat();
    this.#expect(disturbanceOf(seen, this.#identity, start));
    if (seen.nlink > 1n && !this.#linkHeld && this.#onLinked) {
      // Another name appeared since it was opened (a hard link): held by its identity before
      // the write, then looked at again, since another job may have written it meanwhile.
      await this.#onLinked(this.#identity);
      this.#linkHeld = true;
      this.#expect(disturbanceOf(this.#fstat(), this.#identity, start));
    }
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await this.#handle.write(
          data,
          written,
          data.length - written,
          start + written,
        );
        // A short write goes on where it stopped; one that wrote nothing would spin forever.
        if (bytesWritten === 0)
          throw new Error(
            `the file system wrote 0 bytes of ${data.length - written}, with no error`,
          );
        written += bytesWritten;
      }
      await this.#handle.datasync();
    } catch (cause) {
      // Leave no partial page behind: the next append writes at `start` again.
      await this.#handle.truncate(start).catch(() => {});
      throw new SinkFileError(this.path, 'write', cause);
    }
    const end = start + data.length;
    // After the sync, through the path: a file renamed, deleted or replaced before or during the
    // write took the page with it, and the page must not be recorded as written at the path.
    let moved: string | null;
    try {
      moved = this.#disturbance(end, this.#statPath());
    } catch (error) {
      // The path could not be looked at: the page is not recorded, so it must not stay either.
      await this.#handle.truncate(start).catch(() => {});
      throw error;
    }
    if (moved) {
      // The page is in a file no longer at the path: take it back out, so that file holds
      // exactly the recorded pages and can be put back to resume. Only when nothing else wrote.
      const now = await this.#handle.stat().catch(() => null);
      if (now?.size === end) await this.#handle.truncate(start).catch(() => {});
      this.#expect(moved);
    }
    this.#size = end;
    // A copy of the last bytes only: a page may be megabytes.
    this.#tail =
      data.length >= TAIL_BYTES
        ? Buffer.from(data.subarray(data.length - TAIL_BYTES))
        : Buffer.concat([this.#tail, data]).subarray(-TAIL_BYTES);
    return this.#size;
  }

  /**
   * Throws {@link SinkFileDisturbedError} when the file is no longer at its path as the sink left
   * it: called before the output rotates, since the next part's name would otherwise be looked
   * up in whatever folder is at the path now, and the job go on there.
   */
  verify(): void {
    if (this.#disturbed) throw this.#disturbed;
    this.#expect(this.#disturbance(this.#size, this.#statPath()));
  }

  /**
   * What happened to the file, or null when nothing did: it must hold `size` bytes (nothing else
   * writes it) and, `found` through its path, be the file opened (not renamed, moved, deleted or
   * replaced), or through the open descriptor ({@link DurableFile.#fstat}). Both lookups are
   * synchronous: on a file just written both took 14 µs, 3-6% of a page's write and fdatasync on
   * ext4, where awaited through the thread pool they took 80 µs (20-30%).
   * Per page, never per item.
   */
  #disturbance(size: number, found: BigIntStats | 'missing'): string | null {
    return disturbanceOf(found, this.#identity, size);
  }

  /** The open file, looked at through its descriptor (synchronously, see above). */
  #fstat(): BigIntStats {
    try {
      return fstatSync(this.#handle.fd, { bigint: true });
    } catch (error) {
      throw new SinkFileError(this.path, 'write', error);
    }
  }

  /**
   * The file at the path (through links, as the sink opened it), or `missing`. Synchronous for
   * the reason {@link DurableFile.#disturbance} gives: the path was looked up at the last page
   * too, so the kernel's caches answer it.
   */
  #statPath(): BigIntStats | 'missing' {
    try {
      return statSync(this.path, { bigint: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A folder of the path gone, or replaced by a file.
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
      throw new SinkFileError(this.path, 'write', error);
    }
  }

  /** Throws for a disturbance found, and keeps throwing: the file is not written again. */
  #expect(reason: string | null): void {
    if (reason === null) return;
    this.#disturbed = new SinkFileDisturbedError(this.path, reason);
    throw this.#disturbed;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

const MISSING = 'was renamed, moved or deleted (nothing is at its path now)';

/**
 * What happened to a file the sink opened as `identity` and wrote `size` bytes of, seen as `found`
 * (through its path or its descriptor), or null when nothing did.
 */
function disturbanceOf(
  found: BigIntStats | 'missing',
  identity: string,
  size: number,
): string | null {
  // Unlinked but still open (seen through the descriptor), or nothing at the path.
  if (found === 'missing' || found.nlink === 0n) return MISSING;
  if (fileIdentity(found) !== identity)
    return 'was replaced: its path now reaches another file (it was renamed, moved or deleted, and another made in its place)';
  if (found.size < BigInt(size))
    return `was cut to ${found.size} bytes (the sink had written ${size})`;
  if (found.size > BigInt(size))
    return `grew to ${found.size} bytes (the sink had written ${size}): something else writes it`;
  return null;
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

/**
 * Files this process created whose folder could not be synced after: the retry finds the file
 * there, and must sync the folder before a page goes into it, or its name may not survive a
 * power loss while its pages are recorded as durable.
 */
const unsyncedFolders = new Set<string>();

/** Opens the file, or creates it when `create`; null when it is missing and may not be created. */
async function openOrCreate(path: string, create: boolean): Promise<FileHandle | null> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(path, constants.O_RDWR);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (handle && !unsyncedFolders.has(path)) return handle;
  if (!handle) {
    // A file the checkpoint says holds pages is lost: an empty one in its place would hide that.
    if (!create) return null;
    await mkdir(dirname(path), { recursive: true });
    handle = await open(path, constants.O_RDWR | constants.O_CREAT);
    unsyncedFolders.add(path);
  }
  try {
    // A new file's name must survive a power loss as its content does: sync the folder once.
    await syncDir(dirname(path));
  } catch (error) {
    // Not left for the garbage collector (out of descriptors, EMFILE, this is where it fails).
    await handle.close().catch(() => {});
    throw error;
  }
  unsyncedFolders.delete(path);
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
