/**
 * Cross-process locks. A lock is a directory, `<stem>.checkpoint.lock`, holding an `owner.json`
 * (pid, host, since, a random token). It is made in one atomic step: a staging directory with the
 * file inside is renamed into place, and a rename onto an existing (non-empty) lock fails, so
 * exactly one process can make it, and a contender always finds who holds it. The holder touches
 * its mtime to keep it fresh.
 *
 * A lock whose owner is dead (a process of this host that is gone or a zombie) or that went
 * stale (not touched for `staleMs`: an owner on another host that stopped) is taken over, and only
 * under a second lock, `<lock>.takeover`, made with `mkdir` (which one process only can make):
 * its holder reads the lock again, removes it only if it is still the one judged dead, and makes
 * its own before it lets go. So of many processes that find a dead owner at once, exactly one
 * wins; the others wait for the takeover to end and are refused naming the winner.
 *
 * A takeover lock left for `TAKEOVER_STALE_MS` counts as abandoned, but its holder may only be
 * stopped (SIGSTOP, a suspended machine) between judging the lock dead and removing it, while
 * another process took the lock over. Removing by name would then remove that process's fresh
 * lock (both held it). So a takeover moves the lock to a name of its own (one atomic rename) and
 * checks it there, where it cannot change: removed if it is the directory judged dead (identity
 * and owner token), else put back, and the takeover starts over and finds the live owner. Should
 * a third process make a lock in that instant, the lock moved aside cannot go back: its holder
 * finds its lock made anew at its next check (`LockLostError`). A write it had checked before
 * may still reach the journal then (the third process took nothing over, so it fenced nothing),
 * which needs a takeover stopped for 10 s and a lock made in the microseconds between two
 * renames. See lock-dir.ts (`removeIfStill`) and test/integration/takeover-paused.test.ts.
 *
 * This replaced proper-lockfile, whose stale takeover (remove the stale lock, then make a new
 * one) let two contenders each remove the other's fresh lock: with 4 processes opening at once
 * after a kill -9, 2 rounds of 30 ended with more than one holder.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CheckpointLockedError, LockLostError, type LockOwner } from '@checkpointkit/core';
import { isMissing } from './io.js';
import {
  asyncLockFs,
  type DirIdentity,
  isSameDirectory,
  makeLock,
  OWNER_FILE,
  type OwnerRecord,
  readOwnerRecord,
  removeIfStill,
  stamper,
  syncLockFs,
} from './lock-dir.js';

/**
 * Default time after which a lock that is no longer kept fresh counts as abandoned. Generous,
 * because the holder refreshes it from its event loop, which a compaction of a checkpoint of
 * millions of units blocks for seconds; a dead owner on this host is taken over at once anyway.
 */
export const DEFAULT_STALE_MS = 30_000;
export const TAKEOVER_SUFFIX = '.takeover';
/** A takeover lock older than this was left by a process that died in the middle of one. */
const TAKEOVER_STALE_MS = 10_000;
/** Rounds of "make it, or take it over" before a contender gives up and reports the holder. */
const ACQUIRE_ROUNDS = 100;

/** A lock this process holds. */
export interface HeldLock {
  readonly lockDir: string;
  readonly checkpointId: string;
  readonly owner: LockOwner;
  readonly token: string;
  /** Identity of the lock directory we created (inode and birth time): a cheap check that it is still ours. */
  readonly identity: { ino: number; birthtimeMs: number };
  /** Set when the lock was removed or taken over: every write must stop. */
  lost: Error | null;
  /**
   * Taken over from an owner judged dead or stale, who may still be alive (stopped, or named
   * dead by a tampered owner file) and resume a write it had checked before: see fence.ts.
   */
  readonly tookOver: boolean;
  /** The owner record of the lock taken over (dead or stale), when there was one. */
  readonly previous: OwnerRecord | null;
  release(): Promise<void>;
  /** Stops holding the lock without removing it, as a killed holder would leave it (see hold.ts). */
  leave(): Promise<void>;
}

/** @internal Steps of a takeover the multi-process tests stop a process at (SIGSTOP): not for use. */
export const lockTestHooks: { step?: (step: 'judged-dead' | 'moved-aside') => void } = {};

/** Tokens of the locks this process holds: an owner record with our pid but another token is a previous process's. */
const heldTokens = new Set<string>();

/** A zombie (killed, not yet reaped by its parent) still answers kill -0, but is dead. Linux only. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** True unless the owner is certainly a dead process on this host. */
export function mayBeAlive(owner: OwnerRecord): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return heldTokens.has(owner.token); // else a previous process that had our pid
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  return !isZombie(owner.pid);
}

/**
 * Whether the process that made a leftover (a takeover lock, a lock half made or moved aside) is
 * known to be gone: a process of this host that no longer runs. Another host's, or this very
 * process, is not.
 */
export function isGone(maker: Pick<OwnerRecord, 'pid' | 'host'>): boolean {
  if (maker.host !== hostname() || maker.pid === process.pid) return false;
  return !mayBeAlive({ ...maker, since: '', token: '' });
}

/**
 * Whether a lock's mtime shows it was not refreshed for `staleMs`. A date further ahead than
 * that was not set by a refresh either: a clock stepped back, or another host's clock runs fast.
 * Then an owner on this host is judged by its pid (its next refresh mends the date); any other
 * counts as stale, or it would hold until the clock caught up, maybe for years.
 */
function isStale(mtime: number, staleMs: number, owner: OwnerRecord | null): boolean {
  const age = Date.now() - mtime;
  const limit = Math.max(staleMs, 2000);
  return age > limit || (age < -limit && owner?.host !== hostname());
}

/**
 * What a lock directory holds now: missing, held by a live owner, or free to take over (the
 * directory judged dead: its identity and owner token).
 */
type LockState =
  | { kind: 'missing' }
  | { kind: 'live'; owner: LockOwner & Pick<OwnerRecord, 'details'> }
  | { kind: 'dead'; token: string; identity: DirIdentity; record: OwnerRecord | null };

async function inspect(lockDir: string, staleMs: number): Promise<LockState> {
  let found: { mtimeMs: number } & DirIdentity;
  try {
    found = await stat(lockDir);
  } catch (error) {
    if (isMissing(error)) return { kind: 'missing' };
    throw error;
  }
  let record = await readOwnerRecord(lockDir);
  // A lock is made with its owner file in one rename, so an owner file that cannot be read is
  // mostly a lock in flux: a takeover moving the dead one away just before it makes its own.
  // Look again before reporting an owner nobody can name.
  for (let attempt = 0; !record && attempt < 5; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 2 + attempt * 4));
    try {
      found = await stat(lockDir);
    } catch (error) {
      if (isMissing(error)) return { kind: 'missing' };
      throw error;
    }
    record = await readOwnerRecord(lockDir);
  }
  const mtime = found.mtimeMs;
  const identity = { ino: found.ino, birthtimeMs: found.birthtimeMs };
  if (isStale(mtime, staleMs, record))
    return { kind: 'dead', token: record?.token ?? '', identity, record };
  // An owner file that cannot be read, in a fresh lock: someone holds it; we cannot tell who.
  if (!record)
    return {
      kind: 'live',
      owner: {
        pid: 0,
        host: 'unknown host',
        since: new Date(mtime).toISOString(),
        unreadableOwnerFile: join(lockDir, OWNER_FILE),
      },
    };
  if (!mayBeAlive(record)) return { kind: 'dead', token: record.token, identity, record };
  const { pid, host, since, details } = record;
  return { kind: 'live', owner: { pid, host, since, ...(details && { details }) } };
}

/** The owner of a live lock (fresh, and not held by a dead process on this host), or null. */
export async function liveOwner(lockDir: string, staleMs: number): Promise<LockOwner | null> {
  const state = await inspect(lockDir, staleMs);
  return state.kind === 'live' ? state.owner : null;
}

/** Whether `dir` is the directory judged: the same identity, and the same owner token. */
function isJudgedLock(judged: { token: string; identity: DirIdentity }) {
  return async (dir: string): Promise<boolean> => {
    lockTestHooks.step?.('moved-aside');
    return (
      (await isSameDirectory(dir, judged.identity)) &&
      ((await readOwnerRecord(dir))?.token ?? '') === judged.token
    );
  };
}

/**
 * Under the takeover lock: removes the lock if it is still the dead one (`token`) and makes ours.
 * `won` (with the dead lock's owner record): ours now. `busy`: another process is taking it over:
 * wait, then look again. `again`: the lock changed meanwhile: look again.
 */
async function takeOver(
  lockDir: string,
  ownerJson: string,
  token: string,
  staleMs: number,
): Promise<{ won: OwnerRecord | null } | 'busy' | 'again'> {
  const takeover = lockDir + TAKEOVER_SUFFIX;
  try {
    await mkdir(takeover);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    await removeAbandonedTakeover(takeover);
    return 'busy';
  }
  const mine = await stat(takeover).catch(() => null);
  // Named, so that a process killed in the middle of its takeover is known as dead at once:
  // without it the next contender waited 10 s, and the folder stayed beside the lock for good
  // when nobody needed to take that lock over again (a file sink's holds).
  const maker: OwnerRecord = { pid: process.pid, host: hostname(), since: '', token: '' };
  await writeFile(join(takeover, OWNER_FILE), JSON.stringify(maker)).catch(() => {});
  try {
    const state = await inspect(lockDir, staleMs);
    if (state.kind === 'live') return 'again';
    if (state.kind === 'dead' && state.token !== token) return 'again'; // another dead one: judge it anew
    const previous = state.kind === 'dead' ? state.record : null;
    let made = false;
    const make = async () => {
      made = await makeLock(lockDir, ownerJson);
    };
    if (state.kind === 'dead') {
      lockTestHooks.step?.('judged-dead');
      // Our takeover lock may have been judged abandoned meanwhile (we were stopped for long):
      // then the lock may be another's now. Only the one judged dead is removed, and only once
      // ours is made: killed in between, we leave it aside for the next taker to name as
      // `previous` (tryLock), not nothing (a file sink tells its own killed job's file by it).
      const removal = await removeIfStill(lockDir, isJudgedLock(state), asyncLockFs, make);
      if (removal === 'restored' || removal === 'displaced') return 'again';
      if (removal === 'removed') return made ? { won: previous } : 'again';
    }
    await make();
    return made ? { won: previous } : 'again';
  } finally {
    // Ours, unless it was judged abandoned and another takeover made its own meanwhile.
    if (mine) await removeIfStill(takeover, (aside) => isSameDirectory(aside, mine));
  }
}

/**
 * Removes the takeover lock `takeover` when a process died in the middle of its takeover: its
 * owner file names a process of this host that is gone, or it is seconds old (a takeover takes
 * milliseconds; one dated in the future beyond that was set before the clock stepped back). A
 * process stopped in it has its lock removed all the same, which is why the takeover itself
 * checks what it removes. Says whether it removed it.
 */
export async function removeAbandonedTakeover(takeover: string): Promise<boolean> {
  const found = await stat(takeover).catch(() => null);
  if (!found) return false;
  const maker = await readOwnerRecord(takeover).catch(() => null);
  if (!(maker && isGone(maker)) && Math.abs(Date.now() - found.mtimeMs) <= TAKEOVER_STALE_MS)
    return false;
  return (await removeIfStill(takeover, (aside) => isSameDirectory(aside, found))) === 'removed';
}

async function waitWhileExists(path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!statSync(path, { throwIfNoEntry: false })) return;
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
  }
}

/**
 * Takes the lock of `checkpointId` (directory `lockDir`), or rejects with
 * {@link CheckpointLockedError} naming the owner (with its `details`, when it wrote some).
 * `details` go into the owner file. `byPath`, for locks taken by the thousand (hold.ts): kept
 * fresh by its path instead of through a descriptor held open, and made, checked and removed with
 * synchronous calls (`syncLockFs`, lock-dir.ts); a takeover goes through the thread pool.
 */
export async function acquireLock(options: {
  lockDir: string;
  checkpointId: string;
  staleMs: number;
  details?: Record<string, unknown>;
  byPath?: boolean;
}): Promise<HeldLock> {
  const { lockDir, checkpointId, staleMs, details, byPath = false } = options;
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const token = randomUUID();
  const ownerJson = JSON.stringify({ ...owner, token, ...(details && { details }) });
  const make = (previous: OwnerRecord | null) =>
    held({ lockDir, checkpointId, owner, token, staleMs, previous, byPath });
  for (let round = 0; round < ACQUIRE_ROUNDS; round++) {
    if (await makeLock(lockDir, ownerJson, byPath ? syncLockFs : asyncLockFs)) return make(null);
    const state = await inspect(lockDir, staleMs);
    if (state.kind === 'live') throw new CheckpointLockedError(checkpointId, state.owner);
    if (state.kind === 'missing') continue; // released meanwhile: try again
    const outcome = await takeOver(lockDir, ownerJson, state.token, staleMs);
    if (typeof outcome === 'object') return make(outcome.won ?? { token: '', ...unknownOwner });
    if (outcome === 'busy') await waitWhileExists(lockDir + TAKEOVER_SUFFIX);
  }
  throw new CheckpointLockedError(checkpointId, await liveOwner(lockDir, staleMs));
}

/** A dead lock whose owner file could not be read: taken over all the same, from nobody known. */
const unknownOwner = { pid: 0, host: 'unknown host', since: new Date(0).toISOString() };

/** The lock we made: refreshed while held, checked before every write, removed on release. */
async function held(options: {
  lockDir: string;
  checkpointId: string;
  owner: LockOwner;
  token: string;
  staleMs: number;
  previous: OwnerRecord | null;
  byPath: boolean;
}): Promise<HeldLock> {
  const { lockDir, checkpointId, owner, token, staleMs, previous, byPath } = options;
  heldTokens.add(token);
  const io = byPath ? syncLockFs : asyncLockFs;
  const made = await io.stat(lockDir);
  const { ino, birthtimeMs } = made;
  const stamp = await stamper(lockDir, byPath);
  let released = false;
  const entry: HeldLock = {
    lockDir,
    checkpointId,
    owner,
    token,
    identity: { ino, birthtimeMs },
    lost: null,
    tookOver: previous !== null,
    previous,
    async leave() {
      if (released) return;
      released = true;
      clearInterval(refresh);
      // Without its token this process no longer counts as its live owner (mayBeAlive).
      heldTokens.delete(token);
      await stamp.close();
    },
    async release() {
      if (released) return;
      await entry.leave();
      if (entry.lost) return;
      // Ours while it is the directory we made (a takeover makes another, and an owner file
      // someone removed or emptied leaves it ours): one stat, where reading the owner file took
      // three calls. Without birth times an inode may be reused, so the token decides too.
      const isOurs = async (dir: string) => {
        if (!(await isSameDirectory(dir, entry.identity, io))) return false;
        if (birthtimeMs !== 0) return true;
        const current = await readOwnerRecord(dir, io);
        return !current || current.token === token;
      };
      if (!(await isOurs(lockDir))) return; // taken over: not ours to remove
      // Checked again once moved aside: it may have been taken over while we were stopped here.
      await removeIfStill(lockDir, isOurs, io);
    },
  };
  // Keep it fresh for contenders on other hosts, and find out early if it was tampered with or
  // taken from us: made anew (another inode or birth time), or dated back by someone else (an
  // mtime older than ours, which may have made it look stale to others). A later mtime is no
  // sign of either: a change inside the directory (its owner file removed) moves it forward,
  // and the refresh mends a date ahead. Writes check the identity again each time.
  let touched = made.mtimeMs;
  const refresh = setInterval(
    () => {
      if (released || entry.lost) return;
      let now: Date;
      stat(lockDir)
        .then((current) => {
          if (current.ino !== ino || current.birthtimeMs !== birthtimeMs)
            throw new Error('its lock directory was made anew by another process');
          if (touched - current.mtimeMs > 1000) {
            throw new Error('its lock directory was touched by another process');
          }
          now = new Date();
          return stamp.touch(now);
        })
        .then(() => {
          touched = now.getTime();
        })
        .catch((error: unknown) => {
          if (released || entry.lost) return;
          entry.lost = new LockLostError(
            checkpointId,
            isMissing(error) ? 'its lock directory was removed' : (error as Error).message,
            { cause: error },
          );
          heldTokens.delete(token);
        });
    },
    Math.max(500, Math.floor(staleMs / 4)),
  );
  refresh.unref?.();
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
