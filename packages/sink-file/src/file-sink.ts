import { resolve } from 'node:path';
import { CheckpointError, type Run, type Sink, type SinkResult } from '@checkpointkit/core';
import { SinkClaims } from './claims.js';
import {
  type SinkFileConflictError,
  SinkFileError,
  type SinkFileHeldError,
  SinkFilePathError,
} from './errors.js';
import { OutputHolds } from './holds.js';
import { checkOptions } from './options.js';
import { OutputNames } from './part-names.js';
import {
  freshPart,
  nextPart,
  type OpenPart,
  type PartAccess,
  partPath,
  reopenPart,
  resumePart,
} from './parts.js';
import { HoldReleases } from './releases.js';
import {
  fileState,
  otherSinksFiles,
  type RecordedFile,
  recordedFiles,
  sinkStateKey,
} from './state.js';

/**
 * How many files a sink keeps open between their pages, at most (more while more are being
 * written at once). Keeping each open until the pipeline ended ran a job with a file per unit out
 * of descriptors (EMFILE, 1024 by default on many systems) after that many units; a file closed
 * here is opened again at its next page as a resume opens it, cut back to what it recorded.
 */
const IDLE_OPEN_FILES = 64;

/** Options every file sink takes. */
export interface FileSinkOptions {
  /**
   * The output file, or a function of the unit key that names one (a file per unit, or per
   * group of units). Relative paths resolve against the working directory of when the sink was
   * made. Several units may share a file (under any spelling of its path, `out/../a.jsonl` is
   * `a.jsonl`): their pages are written one at a time. Two names of one file through a link, or a
   * file named like a part of another output when `maxBytes` is set, are refused
   * ({@link SinkFileConflictError}). With `maxBytes`, the function is also called for every unit
   * of the run's plan when the pipeline starts, so it should be pure.
   */
  path: string | ((unit: string) => string);
  /**
   * Names this sink's entries in the checkpoint's meta (`<id>:<path>`). Two file sinks that
   * write through one run need different ids, neither with a colon (`json` and `json:csv` would
   * read each other's entries). Default `sink-file`.
   */
  id?: string;
  /**
   * Rotation by size: once a file holds at least this many bytes, the next page starts a new
   * part (`out.jsonl`, `out.1.jsonl`, `out.2.jsonl`, ...; a CSV header in each). A page is never
   * split, so a part may pass the size by one page. A whole number above 0; default: no rotation.
   */
  maxBytes?: number;
}

/** Where a page goes: its unit, its file, and whether that file is empty (a CSV header goes first). */
export interface PageTarget {
  unit: string;
  path: string;
  fresh: boolean;
}

/** Turns a page into the text to append. */
export type PageEncoder<Item> = (items: readonly Item[], target: PageTarget) => string;

/**
 * The exactly-once protocol shared by the JSON Lines and CSV sinks:
 *
 * - `write` appends the page at the end the sink knows the file has, fdatasyncs it, and returns
 *   the new size as meta (`<id>:<path>` = `{ bytes, part?, tail }`, `tail` a hash of the file's
 *   last bytes), which `pipeline()` records with the page's cursor in the same flush.
 * - `open` (and the first touch of a file) cuts each file back to the size the checkpoint
 *   recorded, or starts a file the checkpoint never recorded empty, keeping what was there aside:
 *   what is left is exactly the pages whose cursors the store acknowledged.
 * - Every file it touches is held against other jobs (see holds.ts) from before it is looked
 *   at until it closes the file (or, for a file closed before a flush recorded it, until one
 *   has): a sink of another job that names it is refused ({@link SinkFileHeldError}), and only a
 *   file whose hold this job's own killed process left is cut as this job's unacknowledged output.
 * - Pages to one file are written one at a time, each recorded before the next one's write can
 *   finish (a write resolves only after its own I/O), so the sizes a flush holds only grow with
 *   the pages it holds.
 */
export function fileSink<Item>(options: FileSinkOptions, encode: PageEncoder<Item>): Sink<Item> {
  // Files are known by their absolute path, resolved against the directory of now: a unit whose
  // path spells a file another way (`x/../a`, `./a`) shares it instead of writing over it, and a
  // later process.chdir() sends no page elsewhere. Meta keys keep the path as given.
  const base = workingDirectory();
  const { id, maxBytes, pathOf } = checkOptions(options, base);
  const rotating = maxBytes !== Number.POSITIVE_INFINITY;
  const claims = new SinkClaims();
  // Against other jobs (other processes, other runs): a file is held while it is open, and
  // after that until a flush recorded it (see letGo).
  const holds = new OutputHolds();
  const access: PartAccess = {
    rotating,
    hold: (path, options) => holds.path(path, options),
    letGo: (path) => holds.letGo(path),
    guard: (path) => claims.guard(path),
    claim: (identity, path, linked) => {
      // The run's claim first, synchronously: two opens in flight cannot both pass it.
      claims.claimFile(identity, path);
      // By its identity only when it has other names: its path's hold covers every spelling.
      return linked ? holds.inode(identity, path) : undefined;
    },
    linked: (identity, path) => holds.inode(identity, path),
  };
  /** With rotation: every output, so that none is named like a part of another. */
  let names = new OutputNames();
  /** Per absolute file: the part and size last acknowledged (on open) or written (since). */
  let recorded = new Map<string, RecordedFile>();
  let files = new Map<string, Promise<OpenPart>>();
  let chains = new Map<string, Promise<unknown>>();
  /** Per absolute file: its pages queued or being written; only a file with none is closed. */
  const busy = new Map<string, number>();
  /** The files opened, least recently used first. */
  let used = new Set<string>();
  /** Per absolute file: the identity of the part last opened, to tell it when opened again. */
  let identities = new Map<string, string>();
  let opened: Promise<void> | null = null;
  /** When the run's checkpoint was created (ms): files modified since are the job's own. */
  let jobSince = Number.POSITIVE_INFINITY;
  /** When to let go of the holds of the files it closes. */
  const releases = new HoldReleases(id, (file) => holds.letGo(file));

  const fileFor = (path: string): Promise<OpenPart> => {
    let file = files.get(path);
    if (!file) {
      // Never recorded: no acknowledged page is in it, so it starts empty (what was there kept aside).
      const known = recorded.get(path);
      const was = identities.get(path);
      releases.reopened(partPath(path, known?.part ?? 0));
      file =
        known && was !== undefined
          ? reopenPart(path, known, access, was)
          : known
            ? resumePart(path, known, access, jobSince)
            : freshPart(path, access, jobSince);
      track(path, file);
    }
    used.delete(path);
    used.add(path);
    return file;
  };

  /** Makes `file` the open part of `path`, and remembers which file it is once it is open. */
  const track = (path: string, file: Promise<OpenPart>): void => {
    files.set(path, file);
    // A file that failed to open is tried again by the next page.
    file.then(
      (open) => identities.set(path, open.file.identity),
      () => files.get(path) === file && files.delete(path),
    );
  };

  /** Closes the least recently used files no page is waiting for, down to {@link IDLE_OPEN_FILES}. */
  const closeIdle = async (): Promise<void> => {
    for (const path of used) {
      if (files.size <= IDLE_OPEN_FILES) return;
      if (busy.has(path)) continue;
      used.delete(path);
      const file = files.get(path);
      // Out of `files` first: a page that comes now opens the file again, recorded as it is.
      files.delete(path);
      await file?.then((open) => closePart(path, open)).catch(() => {});
    }
  };

  /** Closes an output's part, letting go of its holds once a flush recorded it. */
  const closePart = (path: string, { part, file }: OpenPart): Promise<void> => {
    releases.closing(path, part, file.path);
    return file.close();
  };

  /** The part the next page of `path` goes to: a new one when the current one is full. */
  const partFor = async (path: string): Promise<OpenPart> => {
    const open = await fileFor(path);
    if (open.file.size < maxBytes) return open;
    // The part it filled must still be where it was: a folder moved or swapped since would send
    // the next parts elsewhere, away from the parts before.
    open.file.verify();
    await closePart(path, open);
    const next = nextPart(path, open.part, access);
    track(path, next);
    return next;
  };

  const closeAll = async () => {
    await Promise.allSettled(chains.values());
    // A page written but not recorded (the run was interrupted meanwhile, or the sink is used
    // without pipeline()): its file's hold is left for the job's next run, which cuts it off.
    for (const file of releases.unrecorded(recorded)) await holds.leave(file);
    const open = await Promise.allSettled(files.values());
    files = new Map();
    chains = new Map();
    used = new Set();
    identities = new Map();
    for (const file of open) if (file.status === 'fulfilled') await file.value.file.close();
    // The holds go with the files (the sink closes, or opens again and holds what it opens).
    releases.forget();
  };

  const openFor = (run: Run): Promise<void> => {
    opened ??= (async () => {
      if (run.worker) {
        throw new CheckpointError(
          `file sink "${id}": worker mode shares a checkpoint between processes, and a local file cannot be cut back safely there; use one process, or a transactional sink`,
        );
      }
      await closeAll();
      // The id first, before any file is touched: a second sink with it would take the first's
      // recorded files for its own.
      claims.release();
      claims.claimId(run, id);
      await holds.start(run, id);
      recorded = new Map();
      for (const [path, state] of recordedFiles(run.checkpoint, id)) {
        // Spellings of one file: its pages were written one at a time, so the furthest is last.
        const file = resolve(base, path);
        const other = recorded.get(file);
        if (
          !other ||
          state.part > other.part ||
          (state.part === other.part && state.bytes > other.bytes)
        )
          recorded.set(file, state);
      }
      releases.open(
        run,
        [...recorded].map(([file, state]) => [file, state.part]),
      );
      jobSince = Date.parse(run.checkpoint.createdAt);
      // Cut every known file back now (the recorded ones, and a fixed path even when nothing of
      // it was recorded yet): one whose units never write again keeps no tail. A file a path
      // function names, never recorded, starts empty when its first page comes.
      const known = new Set(recorded.keys());
      if (typeof options.path === 'string') known.add(pathOf('').file);
      names = new OutputNames();
      if (rotating) addOutputNames(known, run);
      // One at a time, closing as it goes: thousands of recorded files must not all be open.
      for (const path of known) {
        await fileFor(path);
        await closeIdle();
      }
    })();
    opened.catch(() => {
      opened = null;
    });
    return opened;
  };

  /**
   * Adds the outputs the sink may write to `names` (its recorded files, the files other file
   * sinks of the run recorded, and the file of each unit of the run's plan), so that a collision
   * of part names is refused before any file is touched, whichever comes first. A unit whose
   * path function fails is left to fail at its page.
   */
  const addOutputNames = (known: Iterable<string>, run: Run): void => {
    for (const path of known) names.add(path);
    for (const path of otherSinksFiles(run.checkpoint, id)) names.add(resolve(base, path));
    if (typeof options.path !== 'function') return;
    for (const unit of Object.keys(run.checkpoint.units)) {
      let path: string;
      try {
        path = pathOf(unit).file;
      } catch {
        continue;
      }
      names.add(path);
    }
  };

  return {
    open: ({ run }) => {
      opened = null;
      return openFor(run);
    },
    async write(items, context): Promise<SinkResult> {
      // Used outside pipeline(): open on the first page.
      await openFor(context.run);
      if (items.length === 0) return undefined;
      const { key, file: path } = pathOf(context.unit);
      // Before the file is touched: a unit's file that is a part of another output is refused.
      if (rotating) names.add(path);
      const previous = chains.get(path) ?? Promise.resolve();
      busy.set(path, (busy.get(path) ?? 0) + 1);
      const page = previous.then(async () => {
        const { part, file } = await partFor(path).catch((error: unknown) => {
          throw isFolder(error) && typeof options.path === 'function'
            ? new SinkFilePathError(context.unit, key, 'is a folder')
            : error;
        });
        // A hold taken from this sink while it ran (judged stale): another job may write the file.
        holds.assertHeld(file.path);
        const text = encode(items, { unit: context.unit, path: file.path, fresh: file.size === 0 });
        const bytes = await file.append(Buffer.from(text, 'utf8'));
        // What this process synced: a file opened again (after a failed rotation) is cut there.
        const tail = file.fingerprint;
        recorded.set(path, { part, bytes, tail });
        releases.wrote(path, key);
        return { meta: { [sinkStateKey(id, key)]: fileState(bytes, part, tail) } };
      });
      const done = page
        .catch(() => {})
        .then(() => {
          const left = (busy.get(path) ?? 1) - 1;
          if (left === 0) busy.delete(path);
          else busy.set(path, left);
          releases.settle();
          return closeIdle();
        });
      // The next page of the file waits for the closing too; close() waits for every chain.
      chains.set(path, done);
      return page;
    },
    async close() {
      await closeAll();
      claims.release();
      await holds.release();
      opened = null;
    },
  };
}

/** Whether opening failed because the path names a folder (`open` says EISDIR). */
function isFolder(error: unknown): boolean {
  return (
    error instanceof SinkFileError &&
    (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EISDIR'
  );
}

/** The working directory; '' when it was deleted (absolute paths still work, relative ones fail). */
function workingDirectory(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}
