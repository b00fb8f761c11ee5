/**
 * The directories of a lock: its owner file, made in one step, and removed only when it is still
 * the directory judged (see {@link removeIfStill}).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { LockOwner } from '@checkpointkit/core';
import { isMissing } from './io.js';

export const OWNER_FILE = 'owner.json';

/**
 * The file system calls a lock is made, checked and removed with. The same steps either way; the
 * synchronous flavour ({@link syncLockFs}) is for locks taken by the thousand (hold.ts: one per
 * output file of a file sink), where each call through the thread pool cost the event loop 20 to
 * 40 µs of CPU against a few µs for the call itself, several times the cost of the file it holds.
 */
export interface LockFs {
  mkdir(path: string): Promise<unknown>;
  writeFile(path: string, data: string): Promise<void>;
  readFile(path: string): Promise<string>;
  stat(path: string): Promise<Stats>;
  /** Whether something is at `path` (rejects for an error other than its absence). */
  exists(path: string): Promise<boolean>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a lock directory (its owner file, then itself; anything else in it too). */
  removeDir(path: string): Promise<void>;
}

export const asyncLockFs: LockFs = {
  mkdir: (path) => fs.mkdir(path),
  writeFile: (path, data) => fs.writeFile(path, data),
  readFile: (path) => fs.readFile(path, 'utf8'),
  stat: (path) => fs.stat(path),
  exists: (path) =>
    fs.stat(path).then(
      () => true,
      (error: unknown) => (isMissing(error) ? false : Promise.reject(error)),
    ),
  rename: (from, to) => fs.rename(from, to),
  removeDir: (path) => fs.rm(path, { recursive: true, force: true }),
};

/** {@link LockFs} through synchronous calls (each a few µs on a local disk). */
export const syncLockFs: LockFs = {
  mkdir: async (path) => fsSync.mkdirSync(path),
  writeFile: async (path, data) => fsSync.writeFileSync(path, data),
  readFile: async (path) => fsSync.readFileSync(path, 'utf8'),
  stat: async (path) => fsSync.statSync(path),
  // No error made for a missing lock, the usual answer: an exception costs more than the call.
  exists: async (path) => fsSync.statSync(path, { throwIfNoEntry: false }) !== undefined,
  rename: async (from, to) => fsSync.renameSync(from, to),
  // Through the thread pool all the same: a lock removed is at a name of its own by then (see
  // removeIfStill), and rmdir blocked for 0.3 ms each on ext4 while files were fdatasynced (the
  // journal), a third of the job's event loop with a file per unit. Two calls for what a lock
  // directory holds (its owner file); anything more, as rm does.
  removeDir: async (path) => {
    try {
      await fs.rm(join(path, OWNER_FILE), { force: true });
      await fs.rmdir(path);
    } catch (error) {
      if (!isMissing(error)) await fs.rm(path, { recursive: true, force: true });
    }
  },
};

/** What a lock's owner file holds: the owner, and a random token of that one lock. */
export interface OwnerRecord extends LockOwner {
  token: string;
  /** What the lock's taker wrote into it for others to read (see hold.ts); absent in store locks. */
  details?: Record<string, unknown>;
}

/** The owner file of a lock directory, or null when it is missing or cannot be read. */
export async function readOwnerRecord(
  lockDir: string,
  io: LockFs = asyncLockFs,
): Promise<OwnerRecord | null> {
  try {
    const record = JSON.parse(await io.readFile(join(lockDir, OWNER_FILE))) as Partial<OwnerRecord>;
    if (
      typeof record.pid !== 'number' ||
      typeof record.host !== 'string' ||
      typeof record.since !== 'string'
    )
      return null;
    const { details } = record;
    return {
      pid: record.pid,
      host: record.host,
      since: record.since,
      token: String(record.token ?? ''),
      ...(details && typeof details === 'object' && !Array.isArray(details) && { details }),
    };
  } catch (error) {
    if (
      isMissing(error) ||
      error instanceof SyntaxError ||
      (error as NodeJS.ErrnoException).code === 'ENOTDIR'
    )
      return null;
    throw error;
  }
}

/** A directory's identity: which one it is, whatever its name (inode and birth time). */
export interface DirIdentity {
  ino: number;
  birthtimeMs: number;
}

/** How a rename onto a directory that exists (and is not empty) fails. */
const TAKEN = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM', 'EISDIR']);

/** This host, in leftover names: a hash, since a host name may hold anything a file name may not. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** A name of our own beside `dir` (`<dir>.<kind><host>-<pid>-<hex><suffix>`), naming its maker. */
function ownName(dir: string, kind: '' | 'dead-' | 'gone-', suffix: '' | '.new'): string {
  return `${dir}.${kind}${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}${suffix}`;
}

/**
 * Who made a folder a process may leave beside a lock when it is killed (a lock being made,
 * `<lock>.<host>-<pid>-<hex>.new`; a lock moved aside to be removed, `<lock>.dead-<host>-<pid>-<hex>`
 * by a takeover, `<lock>.gone-<host>-<pid>-<hex>` by its holder's release or anything else):
 * named in it so that a killed maker is known by the name alone. The owner file in it cannot
 * tell: in a lock being made it may be empty or half written (the kill came inside the write),
 * and in one moved aside it names the lock's holder, not the process removing it. `sameHost`
 * says whether `pid` is a process of this host. Null for another name (an older version's).
 */
export function leftoverMaker(name: string): { sameHost: boolean; pid: number } | null {
  const match = /\.(?:dead-|gone-)?([0-9a-f]{8})-(\d+)-[0-9a-f]{12}(?:\.new)?$/.exec(name);
  if (!match) return null;
  return { sameHost: match[1] === HOST_TAG, pid: Number(match[2]) };
}

/** Makes the lock directory with its owner file in one step; false when it exists already. */
export async function makeLock(
  lockDir: string,
  ownerJson: string,
  io: LockFs = asyncLockFs,
): Promise<boolean> {
  const staging = ownName(lockDir, '', '.new');
  await io.mkdir(staging);
  let made = false;
  try {
    await io.writeFile(join(staging, OWNER_FILE), ownerJson);
    // A rename replaces an empty directory: a held lock whose owner file someone removed. Such
    // a lock is someone's (see inspect), so only a missing one is made; a lock that appears
    // meanwhile is made by a rename too, with its owner file, and the rename then fails.
    if (await io.exists(lockDir)) return false;
    await io.rename(staging, lockDir);
    made = true;
    return true;
  } catch (error) {
    if (TAKEN.has((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  } finally {
    // Renamed into place: nothing is left at the staging name.
    if (!made) await io.removeDir(staging);
  }
}

/**
 * Removes `dir` only if it is still the directory judged: `removed`, `missing` (gone already),
 * or, when another process made it anew meanwhile, `restored` (put back) or `displaced`.
 *
 * Why: a process stopped (SIGSTOP, a suspended machine) between judging a directory and removing
 * it by name would, when it resumes, remove whatever carries that name by then: a lock another
 * process made meanwhile (both then held the lock), or another takeover's lock. So the directory
 * is first renamed to a name of our own (atomic: whatever we move, nobody else moves or makes
 * it), and `isJudged` looks at it there, where it can no longer change under us. Not the one
 * judged: it goes back under its name, unless a third process made a lock there in that instant
 * (`displaced`); then the holder of the one we moved finds its lock made anew at its next check
 * (another identity: `LockLostError`), and its directory, nobody's now, is removed. A holder
 * that checks in the instant its lock is aside finds it missing and stops too: a lost lock, never
 * two holders.
 */
export async function removeIfStill(
  dir: string,
  isJudged: (aside: string) => Promise<boolean>,
  io: LockFs = asyncLockFs,
  /**
   * For a takeover: makes the new lock while the judged one is aside, before it is removed, so
   * that a takeover killed in between leaves the dead holder's lock (named `dead-`, which tells
   * the next taker who held it, see hold.ts) or its own, never nothing.
   */
  taking?: () => Promise<void>,
): Promise<'removed' | 'missing' | 'restored' | 'displaced'> {
  const aside = ownName(dir, taking ? 'dead-' : 'gone-', '');
  try {
    await io.rename(dir, aside);
  } catch (error) {
    if (isMissing(error)) return 'missing';
    throw error;
  }
  if (await isJudged(aside)) {
    try {
      await taking?.();
    } finally {
      await io.removeDir(aside);
    }
    return 'removed';
  }
  try {
    if (!(await io.exists(dir))) {
      await io.rename(aside, dir);
      return 'restored';
    }
  } catch (error) {
    if (!TAKEN.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  await io.removeDir(aside);
  return 'displaced';
}

/** Whether `path` is still the directory of that identity (inode and birth time). */
export async function isSameDirectory(
  path: string,
  identity: DirIdentity,
  io: LockFs = asyncLockFs,
): Promise<boolean> {
  const current = await io.stat(path).catch(() => null);
  return current?.ino === identity.ino && current.birthtimeMs === identity.birthtimeMs;
}

/**
 * Dates our lock directory now. Through a handle opened when the lock was made, not by its path:
 * a holder stopped (SIGSTOP, a long GC) between its check and its stamp, whose lock was taken over
 * meanwhile, would otherwise stamp the winner's lock with its old time and make it look stale.
 * Where directories cannot be opened (Windows), or with `byPath`, by path.
 */
export async function stamper(
  lockDir: string,
  byPath: boolean,
): Promise<{ touch(time: Date): Promise<void>; close(): Promise<void> }> {
  const handle: fs.FileHandle | null = byPath
    ? null
    : await fs.open(lockDir, 'r').catch(() => null);
  if (!handle) return { touch: (time) => fs.utimes(lockDir, time, time), close: async () => {} };
  return {
    touch: (time) => handle.utimes(time, time),
    close: () => handle.close().catch(() => {}),
  };
}
