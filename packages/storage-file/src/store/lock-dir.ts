/**
 * The directories of a lock: its owner file, made in one step, and removed only when it is still
 * the directory judged (see {@link removeIfStill}).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LockOwner } from '@checkpointkit/core';
import { isMissing } from './io.js';

export const OWNER_FILE = 'owner.json';

/** What a lock's owner file holds: the owner, and a random token of that one lock. */
export interface OwnerRecord extends LockOwner {
  token: string;
}

/** The owner file of a lock directory, or null when it is missing or cannot be read. */
export async function readOwnerRecord(lockDir: string): Promise<OwnerRecord | null> {
  try {
    const record = JSON.parse(
      await readFile(join(lockDir, OWNER_FILE), 'utf8'),
    ) as Partial<OwnerRecord>;
    if (
      typeof record.pid !== 'number' ||
      typeof record.host !== 'string' ||
      typeof record.since !== 'string'
    )
      return null;
    return {
      pid: record.pid,
      host: record.host,
      since: record.since,
      token: String(record.token ?? ''),
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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: unknown) => (isMissing(error) ? false : Promise.reject(error)),
  );
}

/** How a rename onto a directory that exists (and is not empty) fails. */
const TAKEN = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM', 'EISDIR']);

/** Makes the lock directory with its owner file in one step; false when it exists already. */
export async function makeLock(lockDir: string, ownerJson: string): Promise<boolean> {
  const staging = `${lockDir}.${randomBytes(6).toString('hex')}.new`;
  await mkdir(staging);
  try {
    await writeFile(join(staging, OWNER_FILE), ownerJson);
    // A rename replaces an empty directory: a held lock whose owner file someone removed. Such
    // a lock is someone's (see inspect), so only a missing one is made; a lock that appears
    // meanwhile is made by a rename too, with its owner file, and the rename then fails.
    if (await exists(lockDir)) return false;
    await rename(staging, lockDir);
    return true;
  } catch (error) {
    if (TAKEN.has((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
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
): Promise<'removed' | 'missing' | 'restored' | 'displaced'> {
  const aside = `${dir}.dead-${randomBytes(6).toString('hex')}`;
  try {
    await rename(dir, aside);
  } catch (error) {
    if (isMissing(error)) return 'missing';
    throw error;
  }
  if (await isJudged(aside)) {
    await rm(aside, { recursive: true, force: true });
    return 'removed';
  }
  try {
    if (!(await exists(dir))) {
      await rename(aside, dir);
      return 'restored';
    }
  } catch (error) {
    if (!TAKEN.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  await rm(aside, { recursive: true, force: true });
  return 'displaced';
}

/** Whether `path` is still the directory of that identity (inode and birth time). */
export async function isSameDirectory(path: string, identity: DirIdentity): Promise<boolean> {
  const current = await stat(path).catch(() => null);
  return current?.ino === identity.ino && current.birthtimeMs === identity.birthtimeMs;
}
