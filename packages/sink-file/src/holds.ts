import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Run } from '@checkpointkit/core';
import { type ExclusiveLock, type LockHolder, tryLock } from '@checkpointkit/storage-file';
import { SinkFileError, SinkFileHeldError } from './errors.js';

/**
 * Whether a file may hold this job's own unacknowledged output: `this-job` when the hold taken
 * over was left by this job (its process killed), else `unknown` (no hold was there, or another
 * job's): then what the file holds is someone else's, kept aside rather than cut.
 */
export type Provenance = 'this-job' | 'unknown';

/** What a hold names: the job (checkpoint id and creation time) and the sink id. */
interface HoldDetails extends Record<string, unknown> {
  checkpoint: string;
  createdAt: string;
  sink: string;
}

interface Hold {
  lock: ExclusiveLock;
  provenance: Provenance;
}

/** Holds this process took, by lock folder: which sink and run (so that a run's own sinks are left to its claims). */
const heldHere = new Map<string, { owner: object; run: Run }>();

/** How deep symbolic links are followed to a file not made yet (Linux stops at 40). */
const MAX_LINKS = 40;

/**
 * The real path of the file `path` names, whether it exists or not: through symbolic links (one
 * to a file not made yet, too) and folder links, so that every spelling of one file holds one
 * lock. A hard link is another name of the same data, which only the file's identity tells:
 * {@link OutputHolds.inode}.
 */
async function realTarget(path: string, depth = 0): Promise<string> {
  // Synchronous, as the per-page checks are (durable-file.ts): lookups of a few µs, where a trip
  // through the thread pool (or an error made for a file not there yet) costs several times that.
  const found = lstatSync(path, { throwIfNoEntry: false });
  if (found?.isSymbolicLink()) {
    const real = (() => {
      try {
        return realpathSync.native(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || depth > MAX_LINKS) throw error;
        return null;
      }
    })();
    if (real !== null) return real;
    // To a file not made yet: where the link points.
    return realTarget(resolve(dirname(path), readlinkSync(path)), depth + 1);
  }
  if (found) return realpathSync.native(path);
  const parent = dirname(path);
  return parent === path ? path : join(await realTarget(parent, depth + 1), basename(path));
}

/**
 * The holds of one file sink: a cross-process lock (storage-file's) on each file it touches,
 * taken before the file is cut, moved, removed or written, so that a sink of another job (another
 * process, or another run of this one) that names the same file is refused before it touches
 * anything ({@link SinkFileHeldError}). A hold is a hidden folder next to the file's real path
 * (`.out.jsonl.sink-hold`); a file with other names (hard links) is held by its device and inode
 * too, in the system's temporary folder. A hold whose process died (`kill -9`) is taken over by
 * the next sink to want the file, and says which job left it: only a file this job's own process
 * left is cut back as this job's output.
 *
 * A file is held only while the sink needs it ({@link OutputHolds.letGo} when it closes the
 * file; file-sink.ts keeps the hold of a file whose bytes no flush recorded yet, and a sink that
 * closes with such bytes in a file leaves its hold for the job's next run,
 * {@link OutputHolds.leave}): a job with a file per unit holds about as many files as it keeps
 * open, not one per unit, each a lock to take, refresh every few seconds and remove.
 *
 * The lock is storage-file's (`tryLock`), not proper-lockfile: its stale takeover (remove the
 * stale lock, then make a new one) let two contenders each remove the other's fresh lock, and
 * with 4 processes opening at once after a kill -9, 2 rounds of 30 ended with two holders (see
 * storage-file's lock.ts); storage-file's takes over under a second lock and checks what it
 * removes, and its multi-process tests hold it to one winner.
 */
export class OutputHolds {
  /** By lock folder: the hold (being taken, or taken), and the files it is held for. */
  #holds = new Map<string, { taking: Promise<Hold>; users: Set<string> }>();
  /** By file (the path it is held for): its lock folders, checked before each page. */
  #byFile = new Map<string, Set<string>>();
  /** Releases in flight, by lock folder: taking it again waits for them. */
  #releasing = new Map<string, Promise<void>>();
  #run: Run | null = null;
  #details: HoldDetails | null = null;

  /** Starts holding for `sink` of `run`; holds of another job or sink are released first. */
  async start(run: Run, sink: string): Promise<void> {
    const details = { checkpoint: run.id, createdAt: run.checkpoint.createdAt, sink };
    const same = this.#run === run && JSON.stringify(this.#details) === JSON.stringify(details);
    if (!same) await this.release();
    this.#run = run;
    this.#details = details;
  }

  /**
   * Holds the file at `path` (any spelling of it); says whether it may hold this job's output.
   * With `create`, its missing folders are made (the file is about to be created); without, a
   * missing folder means there is no file to protect, and nothing is made (the caller finds the
   * file missing, and creates nothing either).
   */
  async path(path: string, { create }: { create: boolean }): Promise<Provenance> {
    let folder: string;
    let real: string;
    try {
      real = await realTarget(path);
      folder = dirname(real);
      if (!create && !isFolder(folder)) return 'unknown';
    } catch (error) {
      throw new SinkFileError(path, 'open', error);
    }
    // Made only when missing (the lock's own mkdir says ENOENT): one fs call less per file.
    const makeFolder = () => mkdir(folder, { recursive: true });
    return this.#take(
      join(folder, `.${basename(real)}.sink-hold`),
      path,
      create ? makeFolder : null,
    );
  }

  /**
   * Holds the file of identity `identity` (`device:inode`), opened under `path`: the hold of its
   * data, whatever its names. Kept per user in the temporary folder, the one place every name of
   * a file on this host agrees on. Only for a file with other names (hard links): a file with one
   * name is held by its path alone.
   */
  async inode(identity: string, path: string): Promise<void> {
    const folder = join(tmpdir(), `checkpointkit-sink-holds-${process.getuid?.() ?? 'user'}`);
    const makeFolder = () => mkdir(folder, { recursive: true, mode: 0o700 });
    await this.#take(join(folder, `${identity.replace(':', '-')}.hold`), path, makeFolder);
  }

  /** Throws {@link SinkFileHeldError} when a hold of `path` was taken from this sink meanwhile. */
  assertHeld(path: string): void {
    for (const dir of this.#byFile.get(path) ?? []) {
      const lost = this.#settled.get(dir)?.lock.lost;
      if (lost) throw new SinkFileHeldError(path, null, dir, lost.message);
    }
  }

  /** Holds taken, by lock folder (those still being taken are not there yet). */
  #settled = new Map<string, Hold>();

  /** Takes the hold `dir` for `file`; `makeFolder` makes the hold's folder when it is missing. */
  #take(
    dir: string,
    file: string,
    makeFolder: (() => Promise<unknown>) | null,
  ): Promise<Provenance> {
    let entry = this.#holds.get(dir);
    if (!entry) {
      const run = this.#run;
      const details = this.#details;
      const other = heldHere.get(dir);
      // Another file sink of this run has it: the run's claims refuse the second writer, naming both.
      if (!run || !details || (other && other.owner !== this && other.run === run))
        return Promise.resolve('unknown');
      const released = this.#releasing.get(dir) ?? Promise.resolve();
      const taking = released.then(() => this.#lock(dir, file, run, details, makeFolder));
      const taken = { taking, users: new Set<string>() };
      entry = taken;
      this.#holds.set(dir, taken);
      // Refused or failed: the next page tries again.
      taking.catch(() => {
        if (this.#holds.get(dir) !== taken) return;
        this.#holds.delete(dir);
        for (const user of taken.users) this.#byFile.get(user)?.delete(dir);
      });
    }
    entry.users.add(file);
    const dirs = this.#byFile.get(file) ?? new Set<string>();
    this.#byFile.set(file, dirs.add(dir));
    return entry.taking.then((taken) => taken.provenance);
  }

  async #lock(
    dir: string,
    file: string,
    run: Run,
    details: HoldDetails,
    makeFolder: (() => Promise<unknown>) | null,
  ): Promise<Hold> {
    const attempt = await tryLock(dir, { details })
      .catch(async (error: unknown) => {
        // The folder is missing (the file's: made now, as the file is about to be).
        if (!makeFolder || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await makeFolder().catch((cause: unknown) => {
          throw new SinkFileError(file, 'open', cause);
        });
        return tryLock(dir, { details });
      })
      .catch((error: unknown) => {
        throw error instanceof SinkFileError ? error : new SinkFileError(file, 'hold', error);
      });
    if ('holder' in attempt) throw new SinkFileHeldError(file, attempt.holder, dir);
    heldHere.set(dir, { owner: this, run });
    const hold: Hold = {
      lock: attempt.lock,
      provenance: provenanceOf(attempt.lock.previous, details),
    };
    this.#settled.set(dir, hold);
    return hold;
  }

  /**
   * Lets go of the holds taken for `path` (the sink closed the file): each is released once no
   * other file of this sink needs it. Taking one again waits for its release.
   */
  async letGo(path: string): Promise<void> {
    const dirs = this.#byFile.get(path);
    if (!dirs) return;
    this.#byFile.delete(path);
    const releases: Promise<void>[] = [];
    for (const dir of dirs) {
      const entry = this.#holds.get(dir);
      if (!entry) continue;
      entry.users.delete(path);
      if (entry.users.size === 0) releases.push(this.#release(dir, entry.taking));
    }
    await Promise.all(releases);
  }

  /**
   * Stops holding `path` without releasing its holds: each is left in place as a killed process
   * leaves it ({@link ExclusiveLock.leave}), for the next sink to take over at once and find this
   * job in. For a file holding bytes no flush recorded, when the sink closes: the job's next run
   * cuts them off as its own, where a released hold would have them kept aside as another's.
   */
  async leave(path: string): Promise<void> {
    const dirs = this.#byFile.get(path);
    if (!dirs) return;
    this.#byFile.delete(path);
    const leaving: Promise<void>[] = [];
    for (const dir of dirs) {
      const entry = this.#holds.get(dir);
      if (!entry) continue;
      // Left whoever else uses it: another spelling of the file holds the same bytes.
      for (const user of entry.users) if (user !== path) this.#byFile.get(user)?.delete(dir);
      leaving.push(this.#release(dir, entry.taking, 'leave'));
    }
    await Promise.all(leaving);
  }

  /** Ends the hold `dir`, released or left; taking it again meanwhile waits for that. */
  #release(
    dir: string,
    taking: Promise<Hold>,
    how: 'release' | 'leave' = 'release',
  ): Promise<void> {
    this.#holds.delete(dir);
    const releasing = (async () => {
      const hold = await taking.catch(() => null);
      if (!hold) return;
      this.#settled.delete(dir);
      if (heldHere.get(dir)?.owner === this) heldHere.delete(dir);
      await hold.lock[how]().catch(() => {});
    })();
    this.#releasing.set(dir, releasing);
    void releasing.then(() => {
      if (this.#releasing.get(dir) === releasing) this.#releasing.delete(dir);
    });
    return releasing;
  }

  /** Releases every hold (the sink closed, or opens for another job). */
  async release(): Promise<void> {
    const holds = [...this.#holds.entries()];
    this.#byFile = new Map();
    await Promise.all(holds.map(([dir, { taking }]) => this.#release(dir, taking)));
    await Promise.all(this.#releasing.values());
  }
}

function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** `this-job` only when the hold taken over names this very job and sink. */
function provenanceOf(previous: LockHolder | null, details: HoldDetails): Provenance {
  const left = previous?.details;
  return left?.checkpoint === details.checkpoint &&
    left.createdAt === details.createdAt &&
    left.sink === details.sink
    ? 'this-job'
    : 'unknown';
}
