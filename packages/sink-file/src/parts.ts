import { rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { keepAside } from './aside.js';
import { DurableFile } from './durable-file.js';
import { SinkFileChangedError, SinkFileError } from './errors.js';
import type { Provenance } from './holds.js';
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
 * How a sink reaches the files of its outputs: whether they rotate, its holds on them (against
 * other jobs) and its claims on them (within the run), so that no output cuts, moves or removes a
 * file another output, another sink or another job writes.
 */
export interface PartAccess {
  rotating: boolean;
  /**
   * Holds the file at `path` against other jobs, before anything looks at it: throws when another
   * job holds it; says whether it may hold this job's own unacknowledged output. Kept until
   * {@link PartAccess.letGo}.
   */
  hold(path: string, options: { create: boolean }): Promise<Provenance>;
  /** Lets go of the holds taken for `path`: the sink no longer has the file open. */
  letGo(path: string): Promise<void>;
  /** Throws when the file at `path` is another output's; called before it is moved or removed. */
  guard(path: string): Promise<void>;
  /**
   * Takes the identity of a file just opened under `path`; throws when it is another output's.
   * `linked`: the file has other names (hard links), so it is held by its identity too.
   */
  claim(identity: string, path: string, linked: boolean): void | Promise<void>;
  /** Holds by its identity a file open under `path` that was found to have other names since. */
  linked(identity: string, path: string): Promise<void>;
}

/**
 * Runs `work` holding `paths` (besides what `work` holds itself), and lets go of them after, and
 * of `opened` too when `work` fails: a file is held only while the sink looks at it or has it open.
 */
async function holding<T>(
  access: PartAccess,
  paths: string[],
  opened: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    await access.letGo(opened);
    throw error;
  } finally {
    for (const path of paths) if (path !== opened) await access.letGo(path);
  }
}

/**
 * Holds `path`, and says since when what the file holds counts as this job's own unacknowledged
 * output (cut back rather than kept aside): `jobSince` when this job's own process left the
 * file's hold (it was killed while writing it), else never: a file another job (or a process
 * that released its hold cleanly, maybe another job that ended) wrote is kept aside.
 */
async function ownSince(
  access: PartAccess,
  path: string,
  jobSince: number,
  create = false,
): Promise<number> {
  return (await access.hold(path, { create })) === 'this-job' ? jobSince : Number.POSITIVE_INFINITY;
}

/** Opens a part through `access`: the file is claimed before anything is cut. */
function openPart(
  access: PartAccess,
  path: string,
  bytes: number,
  fingerprint?: string,
  was?: string,
) {
  return DurableFile.open(path, bytes, {
    claim: (identity, linked) => access.claim(identity, path, linked),
    linked: (identity) => access.linked(identity, path),
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
  const looked: string[] = [];
  const current = partPath(path, part);
  return holding(access, looked, current, async () => {
    for (let earlier = 0; earlier < part; earlier++) {
      looked.push(partPath(path, earlier));
      await access.hold(partPath(path, earlier), { create: false });
      await expectWholePart(path, earlier, part);
    }
    // A recorded part is created again only when it recorded nothing (see DurableFile.open).
    await access.hold(current, { create: bytes === 0 });
    const file = await openPart(access, current, bytes, tail);
    try {
      // One dated before the job is no part of it (a file of the user under that name): kept
      // aside, not removed.
      if (access.rotating) await removeLaterParts(path, part, access, jobSince, looked);
    } catch (error) {
      await file.close();
      throw error;
    }
    return { part, file };
  });
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
  const file = partPath(path, part);
  return holding(access, [], file, async () => {
    await access.hold(file, { create: false });
    return { part, file: await openPart(access, file, bytes, tail, was) };
  });
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
 * what is there. What the job wrote itself (a process of this job, killed, left the file's hold,
 * and the file was modified since `jobSince`, the checkpoint's creation) is cut off as any
 * unacknowledged tail is. Anything else (an older run's output, another job's, a file of the
 * user's) is kept aside, not destroyed: the file, and when the output rotates the parts after it,
 * each under `<name>.replaced-<time>`.
 */
export async function freshPart(
  path: string,
  access: PartAccess,
  jobSince: number,
): Promise<OpenPart> {
  const at = new Date();
  const looked: string[] = [];
  return holding(access, looked, path, async () => {
    const since = await ownSince(access, path, jobSince, true);
    await access.guard(path);
    await keepAside(path, since, at);
    // The job's own later parts are removed, as an unacknowledged rotation's are on resume.
    if (access.rotating) await removeLaterParts(path, 0, access, jobSince, looked, at);
    return { part: 0, file: await openPart(access, path, 0) };
  });
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
  return holding(access, [], file, async () => {
    await access.hold(file, { create: true });
    await access.guard(file);
    await keepAside(file, Number.POSITIVE_INFINITY, new Date(), { links: true });
    return { part: part + 1, file: await openPart(access, file, 0) };
  });
}

/**
 * Removes the parts after `part` that are the job's own (see {@link ownSince}), keeping any other
 * aside; parts are numbered without gaps, so the first one missing ends them. Each is held
 * before it is looked at, and added to `looked` (let go of once the open is done).
 */
async function removeLaterParts(
  path: string,
  part: number,
  access: PartAccess,
  jobSince: number,
  looked: string[],
  at = new Date(),
): Promise<void> {
  for (let next = part + 1; ; next++) {
    const later = partPath(path, next);
    looked.push(later);
    const since = await ownSince(access, later, jobSince);
    await access.guard(later);
    const found = await keepAside(later, since, at);
    if (found === 'none') return;
    if (found === 'ours') await removePart(later, access);
  }
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
