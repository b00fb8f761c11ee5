import { rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { keepAside } from './aside.js';
import { DurableFile } from './durable-file.js';
import { SinkFileChangedError, SinkFileError } from './errors.js';
import type { RecordedFile } from './state.js';

/**
 * The file of part `part` of an output: the path itself for part 0, then the part number before
 * the extension (`out.jsonl`, `out.1.jsonl`, `out.2.jsonl`, ...).
 */
export function partPath(path: string, part: number): string {
  if (part === 0) return path;
  const extension = extname(path);
  return join(dirname(path), `${basename(path, extension)}.${part}${extension}`);
}

/**
 * How a sink reaches the files of its outputs: whether they rotate, and its claims on them, so
 * that no output cuts, moves or removes a file another output (or another sink) writes.
 */
export interface PartAccess {
  rotating: boolean;
  /** Throws when the file at `path` is another output's; called before it is moved or removed. */
  guard(path: string): Promise<void>;
  /** Takes the identity of a file just opened under `path`; throws when it is another output's. */
  claim(identity: string, path: string): void;
}

/** Opens a part through `access`: the file is claimed before anything is cut. */
function openPart(
  access: PartAccess,
  path: string,
  bytes: number,
  fingerprint?: string,
  was?: string,
) {
  const claim = (identity: string) => access.claim(identity, path);
  return DurableFile.open(path, bytes, {
    claim,
    ...(fingerprint && { fingerprint }),
    ...(was !== undefined && { was }),
  });
}

/** The part an output is writing, and its file. */
export interface OpenPart {
  part: number;
  file: DurableFile;
}

/**
 * Opens the part of an output the checkpoint recorded, cut back to its size, once the parts
 * before it are found whole (each holds at least one page). When the output rotates, the parts
 * after it are removed: a crash after a rotation that no flush acknowledged leaves them, and their
 * pages will be written again; a file there from before the job (`jobSince`) is kept aside. An
 * output that does not rotate has no parts, so files named like them are someone else's and stay.
 */
export async function resumePart(
  path: string,
  { part, bytes, tail }: RecordedFile,
  access: PartAccess,
  jobSince: number,
): Promise<OpenPart> {
  for (let earlier = 0; earlier < part; earlier++) await expectWholePart(path, earlier, part);
  const file = await openPart(access, partPath(path, part), bytes, tail);
  try {
    // Parts are numbered without gaps: the first one missing ends them. One dated before the
    // job is no part of it (a file of the user under that name): kept aside, not removed.
    const at = new Date();
    for (let next = part + 1; access.rotating; next++) {
      const later = partPath(path, next);
      await access.guard(later);
      const found = await keepAside(later, jobSince, at);
      if (found === 'none') break;
      if (found === 'ours') await removePart(later, access);
    }
  } catch (error) {
    await file.close();
    throw error;
  }
  return { part, file };
}

/**
 * Opens again the part an output was writing, which the sink closed while it had no page to
 * write (to bound its open files): it must be the file closed (`was`, its identity) and hold
 * what the sink wrote, else SinkFileDisturbedError. Unlike {@link resumePart}, later parts are
 * not looked at: the sink made none, and a file someone put there is kept aside at rotation.
 */
export async function reopenPart(
  path: string,
  { part, bytes, tail }: RecordedFile,
  access: PartAccess,
  was: string,
): Promise<OpenPart> {
  return { part, file: await openPart(access, partPath(path, part), bytes, tail, was) };
}

/** A part before the recorded one must be there: its pages were acknowledged. */
async function expectWholePart(path: string, part: number, recorded: number): Promise<void> {
  const file = partPath(path, part);
  const found = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new SinkFileError(file, 'open', error);
  });
  if (!found?.isFile() || found.size === 0) {
    throw new SinkFileChangedError(
      file,
      `it is ${found ? (found.isFile() ? 'empty' : 'not a file') : 'missing'}, but the checkpoint recorded part ${recorded} of ${path} after it, so it held acknowledged pages`,
    );
  }
}

/**
 * Opens an output the checkpoint never recorded, empty. No page the checkpoint acknowledged is in
 * what is there. What the job wrote itself (modified since `jobSince`, the checkpoint's creation)
 * is cut off as any unacknowledged tail is. What was there before the job (an older run's output,
 * a file of the user's) is kept aside, not destroyed: the file, and when the output rotates the
 * parts after it, each under `<name>.replaced-<time>`.
 */
export async function freshPart(
  path: string,
  access: PartAccess,
  jobSince: number,
): Promise<OpenPart> {
  const at = new Date();
  await access.guard(path);
  await keepAside(path, jobSince, at);
  if (access.rotating) {
    // The first part missing ends them. The job's own later parts are removed, as an
    // unacknowledged rotation's are on resume.
    for (let next = 1; ; next++) {
      const later = partPath(path, next);
      await access.guard(later);
      const found = await keepAside(later, jobSince, at);
      if (found === 'none') break;
      if (found === 'ours') await removePart(later, access);
    }
  }
  return { part: 0, file: await openPart(access, path, 0) };
}

/**
 * Opens the part after `part` of an output, when the one before is full. The sink made none of
 * it yet: a resume removed the parts after the recorded one, so whatever has the name now came
 * from someone else during the run (a file, a link to one). It is kept aside, whatever its date,
 * as a file found at a fresh output is, never cut to nothing or written through; only an empty
 * file of its own stays. Later parts are not the sink's either, and are left alone.
 */
export async function nextPart(path: string, part: number, access: PartAccess): Promise<OpenPart> {
  const file = partPath(path, part + 1);
  await access.guard(file);
  await keepAside(file, Number.POSITIVE_INFINITY, new Date(), { links: true });
  return { part: part + 1, file: await openPart(access, file, 0) };
}

/** Removes a part (unless it is another output's file); false when there was none. */
async function removePart(path: string, access: PartAccess): Promise<boolean> {
  await access.guard(path);
  try {
    await rm(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new SinkFileError(path, 'remove', error);
  }
}
