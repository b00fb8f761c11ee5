/**
 * The file store's cross-process lock, for other packages to hold something of their own (the file
 * sink holds each output file it writes with it): the same directory lock, made in one atomic
 * step, kept fresh while held, and taken over from a dead owner (a process of this host that is
 * gone, a zombie, a pid reused by another process) or a stale one (not refreshed for `staleMs`:
 * an owner on another host that stopped) by exactly one contender. See lock.ts for why it is
 * built as it is.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CheckpointLockedError, type LockOwner } from '@checkpointkit/core';
import {
  acquireLock,
  DEFAULT_STALE_MS,
  isGone,
  mayBeAlive,
  removeAbandonedTakeover,
  TAKEOVER_SUFFIX,
} from './lock.js';
import { leftoverMaker, type OwnerRecord, readOwnerRecord } from './lock-dir.js';

/** A staging or moved-aside folder of a lock this old was left by a process that died in a step of milliseconds. */
const LEFT_MS = 10_000;

/** Who holds (or held) a lock: its process, and the details it wrote into the lock. */
export interface LockHolder extends LockOwner {
  /** What the holder wrote into the lock when it took it (see {@link tryLock}), if anything. */
  details?: Record<string, unknown>;
}

/** A lock this process holds, taken with {@link tryLock}. */
export interface ExclusiveLock {
  /** The lock's directory. */
  readonly dir: string;
  /**
   * Who held the lock before, when this one was taken over from a dead or stale holder (a
   * process killed with SIGKILL leaves its lock behind), or when a process killed in the middle
   * of taking it over from one left that holder's lock moved aside; null when there was no lock. A holder
   * whose lock could not be read is named `unknown host`, pid 0.
   */
  readonly previous: LockHolder | null;
  /**
   * Set when the lock was removed or taken over by another process (it judged this one stale:
   * stopped, or suspended, for longer than `staleMs`): whatever it protects is no longer ours.
   */
  readonly lost: Error | null;
  /** Removes the lock, unless it was taken over meanwhile. Idempotent. */
  release(): Promise<void>;
  /**
   * Stops holding the lock but leaves it where it is, as a process killed with SIGKILL would:
   * the next {@link tryLock} of it, from this process or another on this host, takes it over at
   * once (a holder on another host, after `staleMs`) and finds this holder, with its details, in
   * `previous`. For a holder that must tell its next taker it did not finish (a file sink leaves
   * the hold of a file holding bytes no save recorded). Idempotent; `release()` after it does
   * nothing.
   */
  leave(): Promise<void>;
}

/** What {@link tryLock} found: the lock, now ours; or who holds it (null when unknown). */
export type LockAttempt = { lock: ExclusiveLock } | { holder: LockHolder | null };

/** Options of {@link tryLock}. */
export interface TryLockOptions {
  /**
   * After how long without a refresh a lock counts as abandoned (an owner on another host that
   * stopped); default {@link DEFAULT_STALE_MS}. A dead owner on this host is taken over at once.
   */
  staleMs?: number;
  /** JSON-able details to write into the lock, for a contender to read (its `holder.details`). */
  details?: Record<string, unknown>;
}

/**
 * Takes the lock `dir` (a directory of that name, made next to what it protects; its parent
 * must exist), or says who holds it. The lock is refreshed in the background (every quarter of
 * `staleMs`) until {@link ExclusiveLock.release}, through its path: no descriptor stays open, so
 * that a process may hold thousands. The price: a holder stopped between its check and its
 * refresh, whose lock was taken over meanwhile, may date the new holder's lock back; that one
 * then finds its lock `lost` at its next refresh, so two holders never both go on unaware. The
 * lock is made and removed with synchronous calls (a few µs each on a local disk: through the
 * thread pool each cost the event loop several times that, per lock); a takeover, rare, goes
 * through the thread pool. The lock is one process's: a second `tryLock` of the same `dir` from
 * this process, while it holds it, finds it held.
 */
export async function tryLock(dir: string, options: TryLockOptions = {}): Promise<LockAttempt> {
  try {
    const lock = await acquireLock({
      lockDir: dir,
      checkpointId: dir,
      staleMs: options.staleMs ?? DEFAULT_STALE_MS,
      byPath: true,
      ...(options.details && { details: options.details }),
    });
    const previous = lock.previous ?? (await movedAside(dir));
    await sweep(dir);
    return {
      lock: {
        dir,
        previous: previous && {
          pid: previous.pid,
          host: previous.host,
          since: previous.since,
          ...(previous.details && { details: previous.details }),
        },
        get lost() {
          return lock.lost;
        },
        release: () => lock.release(),
        leave: () => lock.leave(),
      },
    };
  } catch (error) {
    if (error instanceof CheckpointLockedError) return { holder: error.owner };
    throw error;
  }
}

/** Leftovers per folder, by the lock they belong to, listed at most once per {@link LEFT_MS}. */
const listings = new Map<string, { at: number; byLock: Map<string, string[]> }>();
/** `<lock>.[<host>-<pid>-]<hex>.new`, `<lock>.dead-[<host>-<pid>-]<hex>`, `<lock>.gone-<host>-<pid>-<hex>` (see lock-dir.ts). */
const LEFTOVER =
  /^(.*)\.((?:[0-9a-f]{8}-\d+-)?[0-9a-f]+\.new|(?:dead|gone)-(?:[0-9a-f]{8}-\d+-)?[0-9a-f]+)$/;

/** `<lock>.takeover`: a takeover of the lock in progress, or left by a killed process. */
const TAKEOVER = new RegExp(`^(.*)${TAKEOVER_SUFFIX.replace('.', '\\.')}$`);

/** The leftovers of every lock in `folder`, from one listing (a folder may hold thousands of locks). */
async function leftoversIn(folder: string): Promise<Map<string, string[]>> {
  const cached = listings.get(folder);
  if (cached && Date.now() - cached.at < LEFT_MS) return cached.byLock;
  const byLock = new Map<string, string[]>();
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const match = LEFTOVER.exec(name) ?? TAKEOVER.exec(name);
    if (match) byLock.set(match[1] as string, [...(byLock.get(match[1] as string) ?? []), name]);
  }
  listings.set(folder, { at: Date.now(), byLock });
  return byLock;
}

/**
 * Removes what processes killed in the middle of taking, taking over or releasing a lock left
 * beside it (lock-dir.ts: `<lock>.<host>-<pid>-<hex>.new`, a lock being made; `<lock>.dead-…`, a
 * dead lock a takeover moved aside; `<lock>.gone-…`, a lock its holder's release moved aside):
 * locks sit next to someone's files, which should not collect them (a sink lets go of its holds
 * while it runs, so kills land in releases too).
 *
 * - A leftover whose name says its maker is a process of this host that is gone goes at once,
 *   whichever lock of the folder it belongs to: nobody will finish what it started. Not only
 *   `dir`'s: a sink may never take the hold of a finished file again. But a `dead-` one of
 *   another lock stays for that lock's next taker, to whom it tells who held the lock
 *   ({@link movedAside}); a takeover is for a file its job still needs, so that comes.
 * - A takeover of any lock of the folder (`<lock>.takeover`) goes when its maker is gone too, or
 *   it is seconds old (lock.ts's `removeAbandonedTakeover`).
 * - A leftover of `dir` (held by us now) goes too when its owner file names a dead process of
 *   this host or it is {@link LEFT_MS} old, since a live process takes milliseconds over it: the
 *   rules for names that do not say who made them (older versions', other hosts').
 *
 * Best effort: a failure leaves it.
 */
async function sweep(dir: string): Promise<void> {
  const folder = dirname(dir);
  const byLock = await leftoversIn(folder);
  for (const [lock, names] of byLock) {
    const kept: string[] = [];
    for (const name of names) {
      const path = join(folder, name);
      if (TAKEOVER.test(name)) {
        if (!(await removeAbandonedTakeover(path).catch(() => false))) kept.push(name);
      } else if (
        lock === basename(dir)
          ? makerGone(name) || (await abandoned(path))
          : makerGone(name) && !isDeadLock(lock, name)
      ) {
        await rm(path, { recursive: true, force: true }).catch(() => {});
      } else {
        kept.push(name);
      }
    }
    if (kept.length > 0) byLock.set(lock, kept);
    else byLock.delete(lock);
  }
}

/**
 * The holder of `dir`'s lock that a process killed in the middle of a takeover left moved aside
 * (`<dir>.dead-<host>-<pid>-<hex>`, its remover gone): the lock's last holder, though the lock was
 * missing when we made ours. The newest, when several. Null when there is none.
 */
async function movedAside(dir: string): Promise<OwnerRecord | null> {
  const folder = dirname(dir);
  let newest: { record: OwnerRecord; at: number } | null = null;
  for (const name of (await leftoversIn(folder)).get(basename(dir)) ?? []) {
    if (!isDeadLock(basename(dir), name) || !makerGone(name)) continue;
    const path = join(folder, name);
    const record = await readOwnerRecord(path).catch(() => null);
    const found = await stat(path).catch(() => null);
    if (record && found && (!newest || found.mtimeMs > newest.at))
      newest = { record, at: found.mtimeMs };
  }
  return newest?.record ?? null;
}

/** Whether leftover `name` of `lock` is a dead lock a takeover moved aside (`<lock>.dead-…`). */
function isDeadLock(lock: string, name: string): boolean {
  return name.startsWith(`${lock}.dead-`);
}

/** Whether the leftover at `path` names a dead owner of this host, or is {@link LEFT_MS} old. */
async function abandoned(path: string): Promise<boolean> {
  const owner = await readOwnerRecord(path).catch(() => null);
  const found = await stat(path).catch(() => null);
  if (!found) return false;
  return (owner !== null && !mayBeAlive(owner)) || Math.abs(Date.now() - found.mtimeMs) > LEFT_MS;
}

/** Whether a leftover's maker, named in it (lock-dir.ts), is a process of this host that is gone. */
function makerGone(name: string): boolean {
  const maker = leftoverMaker(name);
  return maker?.sameHost === true && isGone({ pid: maker.pid, host: hostname() });
}
