import { link, lstat, rename, stat, unlink } from 'node:fs/promises';
import { SinkFileError } from './errors.js';

/** The name a replaced file is kept under: `out.jsonl.replaced-2026-12-06T09-15-00.000Z`. */
function asideName(path: string, at: Date, attempt: number): string {
  const stamp = at.toISOString().replace(/:/g, '-');
  return `${path}.replaced-${stamp}${attempt === 0 ? '' : `-${attempt}`}`;
}

/**
 * How much earlier than the checkpoint's creation a file may have been modified and still count
 * as written by the job: file times come from a coarser clock than `Date.now()` (a kernel tick
 * behind), and some file systems keep whole seconds (ext3, HFS+) or even two (FAT).
 */
const CLOCK_SLACK_MS = 2000;

/** What {@link keepAside} found at a path. */
export type Found = 'none' | 'ours' | 'kept';

/**
 * Moves a file that was there before the job out of the way, under a name of its own
 * ({@link asideName}), never over another file: a hard link fails on a name that exists, where a
 * rename would replace it. A file modified since `jobSince` (the checkpoint's creation, ms) is the
 * job's own output that no flush acknowledged, and an empty file holds nothing: both stay where
 * they are, to be cut back; but a file with other names (hard links) that holds anything is kept
 * aside whatever its date. With `links`, a link is kept aside whatever it reaches. Says which it
 * was.
 */
export async function keepAside(
  path: string,
  jobSince: number,
  at = new Date(),
  { links = false }: { links?: boolean } = {},
): Promise<Found> {
  try {
    // `links`: a symbolic link (even one to nowhere, which open would create a file through) or a
    // second name of a file is never the sink's own: writing through it writes someone's file.
    const own = links ? await lstat(path) : null;
    const linked = own !== null && (own.isSymbolicLink() || (own.isFile() && own.nlink > 1));
    // Else through a symbolic link: the data it points at decides (the link itself is kept aside).
    const found = linked ? null : await stat(path);
    // Data reached by other names too (hard links) is never the job's own, whatever hold or
    // date says so: a killed process's hold names what this job did with the name, not who wrote
    // the data since under another name. CI lost another job's rows to that cut.
    const shared = found?.isFile() === true && found.nlink > 1 && found.size > 0;
    if (
      found &&
      !shared &&
      (!found.isFile() || found.size === 0 || found.mtimeMs >= jobSince - CLOCK_SLACK_MS)
    )
      return 'ours';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw new SinkFileError(path, 'keep aside', error);
  }
  for (let attempt = 0; ; attempt++) {
    const target = asideName(path, at, attempt);
    try {
      await placeAt(path, target);
      return 'kept';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new SinkFileError(path, 'keep aside', error);
    }
  }
}

/** Gives `path` the name `target` (which must not exist) and takes the old name away. */
async function placeAt(path: string, target: string): Promise<void> {
  try {
    await link(path, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // File systems without hard links (FAT, some network shares): rename, having looked first.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    if (await exists(target)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
    await rename(path, target);
    return;
  }
  await unlink(path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
