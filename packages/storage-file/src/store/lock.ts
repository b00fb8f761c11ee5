/**
 * Cross-process locks with proper-lockfile: an atomic `mkdir` of `<stem>.checkpoint.lock`, kept
 * fresh by touching its mtime, taken over by others when it goes stale. We give proper-lockfile
 * an `fs` whose `mkdir` creates the directory with an `owner.json` inside in one step (a
 * directory with the file, renamed into place), so a contender always finds who holds the lock;
 * its removal deletes the directory with the file.
 *
 * On top: a lock whose owner is a dead process on this host is taken over at once, without
 * waiting for the stale timeout; and the owner's random token lets a writer check, before every
 * write, that the lock is still its own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { statSync } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CheckpointLockedError, LockLostError, type LockOwner } from '@checkpointkit/core';
import lockfile from 'proper-lockfile';
import { isMissing } from './io.js';

/**
 * Default time after which a lock that is no longer kept fresh counts as abandoned. Generous,
 * because the holder refreshes it from its event loop, which a compaction of a checkpoint of
 * millions of units blocks for seconds; a dead owner on this host is taken over at once anyway.
 */
export const DEFAULT_STALE_MS = 30_000;
const OWNER_FILE = 'owner.json';

interface OwnerRecord extends LockOwner {
  token: string;
}

/** A lock this process holds. */
export interface HeldLock {
  readonly lockDir: string;
  readonly checkpointId: string;
  readonly owner: LockOwner;
  readonly token: string;
  /** Identity of the lock directory we created (inode and birth time): a cheap check that it is still ours. */
  readonly identity: { ino: number; birthtimeMs: number };
  /** Set when the lock was compromised or taken over: every write must stop. */
  lost: Error | null;
  release(): Promise<void>;
}

/** Tokens of the locks this process holds: an owner record with our pid but another token is a previous process's. */
const heldTokens = new Set<string>();

async function readOwnerRecord(lockDir: string): Promise<OwnerRecord | null> {
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

/** True unless the owner is certainly a dead process on this host. */
function mayBeAlive(owner: OwnerRecord): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return heldTokens.has(owner.token); // else a previous process that had our pid
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The owner of a live lock (fresh, and not held by a dead process on this host), or null. */
export async function liveOwner(lockDir: string, staleMs: number): Promise<LockOwner | null> {
  let mtime: number;
  try {
    mtime = (await stat(lockDir)).mtimeMs;
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
  const record = await readOwnerRecord(lockDir);
  if (mtime < Date.now() - Math.max(staleMs, 2000)) return null;
  if (!record) return { pid: 0, host: 'unknown host', since: new Date(mtime).toISOString() };
  if (!mayBeAlive(record)) return null;
  return { pid: record.pid, host: record.host, since: record.since };
}

/** Removes a lock whose owner is a dead process on this host, so it can be taken at once. */
async function clearDeadOwner(lockDir: string): Promise<void> {
  const record = await readOwnerRecord(lockDir);
  if (!record || mayBeAlive(record)) return;
  const grave = `${lockDir}.dead-${randomBytes(6).toString('hex')}`;
  try {
    await rename(lockDir, grave);
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  // Should another process have taken the lock between our read and the rename, its next
  // write finds its token gone and stops with LockLostError: never two writers.
  await rm(grave, { recursive: true, force: true });
}

type Callback = (error: NodeJS.ErrnoException | null) => void;

/** The `fs` given to proper-lockfile: mkdir creates the lock with its owner file in one step. */
function lockFs(ownerJson: string) {
  return {
    ...fs,
    mkdir(path: string, callback: Callback) {
      const staging = `${path}.${randomBytes(6).toString('hex')}.new`;
      fs.mkdir(staging, (error) => {
        if (error) return callback(error);
        fs.writeFile(join(staging, OWNER_FILE), ownerJson, (writeError) => {
          if (writeError)
            return fs.rm(staging, { recursive: true, force: true }, () => callback(writeError));
          fs.rename(staging, path, (renameError) => {
            if (!renameError) return callback(null);
            fs.rm(staging, { recursive: true, force: true }, () => {
              const code = renameError.code;
              if (
                code === 'ENOTEMPTY' ||
                code === 'EEXIST' ||
                code === 'EPERM' ||
                code === 'EISDIR'
              ) {
                return callback(Object.assign(new Error(`${path} exists`), { code: 'EEXIST' }));
              }
              callback(renameError);
            });
          });
        });
      });
    },
    rmdir(path: string, callback: Callback) {
      fs.rm(path, { recursive: true, force: true }, callback);
    },
    rmdirSync(path: string) {
      fs.rmSync(path, { recursive: true, force: true });
    },
  };
}

/**
 * Takes the lock of `checkpointId` (directory `lockDir`, beside `target`), or rejects with
 * {@link CheckpointLockedError} naming the owner.
 */
export async function acquireLock(options: {
  lockDir: string;
  target: string;
  checkpointId: string;
  staleMs: number;
}): Promise<HeldLock> {
  const { lockDir, target, checkpointId, staleMs } = options;
  await clearDeadOwner(lockDir);
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const token = randomUUID();
  let entry: HeldLock | null = null;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      lockfilePath: lockDir,
      realpath: false,
      stale: staleMs,
      retries: 0,
      fs: lockFs(JSON.stringify({ ...owner, token })),
      onCompromised: (error) => {
        // Never thrown: the next write of this checkpoint rejects with LockLostError instead.
        if (entry) entry.lost = new LockLostError(checkpointId, error.message, { cause: error });
        heldTokens.delete(token);
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const current = await readOwnerRecord(lockDir);
    throw new CheckpointLockedError(
      checkpointId,
      current ? { pid: current.pid, host: current.host, since: current.since } : null,
      { cause: error },
    );
  }
  let released = false;
  const { ino, birthtimeMs } = await stat(lockDir);
  entry = {
    lockDir,
    checkpointId,
    owner,
    token,
    identity: { ino, birthtimeMs },
    lost: null,
    async release() {
      if (released) return;
      released = true;
      heldTokens.delete(token);
      if (entry!.lost) return;
      const current = await readOwnerRecord(lockDir);
      if (current?.token !== token) return; // taken over: not ours to remove
      await release().catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ERELEASED' && error.code !== 'ENOTACQUIRED') throw error;
      });
    },
  };
  heldTokens.add(token);
  return entry;
}

/**
 * Rejects unless a store may write the checkpoint now: it holds the lock (`mine`) and the lock is
 * still its own ({@link LockLostError} otherwise), or nobody holds a live lock
 * ({@link CheckpointLockedError} naming the owner otherwise, even another store of this process).
 */
export async function assertMayWrite(
  lockDir: string,
  checkpointId: string,
  staleMs: number,
  mine: HeldLock | undefined,
): Promise<void> {
  if (mine) {
    if (mine.lost) throw mine.lost;
    // One stat per write: a lock directory removed or made anew by someone else has another identity.
    // (Synchronous: a stat of a local directory costs microseconds, a thread-pool round trip more.)
    const current = statSync(lockDir, { throwIfNoEntry: false });
    let same =
      current?.ino === mine.identity.ino && current?.birthtimeMs === mine.identity.birthtimeMs;
    // Without birth times (some file systems), an inode could be reused: the owner file decides.
    if (same && mine.identity.birthtimeMs === 0)
      same = (await readOwnerRecord(lockDir))?.token === mine.token;
    if (!same) {
      const current = await readOwnerRecord(lockDir);
      mine.lost = new LockLostError(
        checkpointId,
        current && current.token !== mine.token
          ? `taken over by pid ${current.pid} on ${current.host} since ${current.since}`
          : 'its lock directory was removed',
      );
      throw mine.lost;
    }
    return;
  }
  const owner = await liveOwner(lockDir, staleMs);
  if (owner) throw new CheckpointLockedError(checkpointId, owner);
}
