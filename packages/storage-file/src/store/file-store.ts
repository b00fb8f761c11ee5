import { resolve } from 'node:path';
import {
  CheckpointError,
  type CheckpointLock,
  OptionsError,
  settingFault,
} from '@checkpointkit/core';
import { encodeCheckpointId } from '../format/names.js';
import { appendNow } from './append.js';
import { compactNow } from './compact.js';
import type { StoreContext } from './context.js';
import { deleteNow } from './delete.js';
import { fenceOffOldWriter } from './fence.js';
import { type CheckpointPaths, pathsOf } from './files.js';
import { ensureDir } from './io.js';
import { acquireLock, assertMayWrite, DEFAULT_STALE_MS, type HeldLock } from './lock.js';
import { listNow, loadNow } from './read.js';
import { repairCheckpoint } from './repair.js';
import type { FileStore, FileStoreOptions, FileStoreWarning } from './types.js';
import { validateChanges } from './validate.js';
import { JournalWriters } from './writer.js';

export type { FileStore, FileStoreOptions, FileStoreWarning } from './types.js';

/** Why a folder that starts with `~` is refused, `which`: who did not expand it. */
function tildeProblem(which: string): string {
  return `starts with "~", which ${which}: write the full path, or ./~ for a folder named ~`;
}

/** A value in a message: its control characters escaped, so that it stays on one line. */
function shown(value: string): string {
  return JSON.stringify(value);
}

/**
 * The default directory of {@link fileStore}: `CHECKPOINT_DIR`, else `.checkpoints` (relative to
 * the working directory). An empty or blank `CHECKPOINT_DIR` counts as unset.
 *
 * @throws OptionsError when `CHECKPOINT_DIR` ends with a carriage return or a line break, starts
 * or ends with a space, is wrapped in quotes or starts with an unexpanded `~`: the message names
 * the variable and the cause.
 */
export function defaultCheckpointDir(): string {
  const fromEnv = process.env['CHECKPOINT_DIR'];
  if (fromEnv === undefined || fromEnv.trim() === '') return '.checkpoints';
  // A `.env` file's `\r`, kept quotes, a space, an unexpanded `~`: a folder of that literal name.
  const problem = settingFault(fromEnv, 'dir');
  if (problem) {
    throw new OptionsError(
      'fileStore',
      'dir',
      `is not given, and its default CHECKPOINT_DIR ${problem} (CHECKPOINT_DIR is ${shown(fromEnv)})`,
    );
  }
  return fromEnv;
}

/** Runs each checkpoint's tasks one after the other, in the order they were queued. */
function serializer() {
  const queues = new Map<string, Promise<unknown>>();
  function serialize<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = queues.get(id) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.then(
      () => {},
      () => {},
    );
    queues.set(id, settled);
    void settled.then(() => {
      if (queues.get(id) === settled) queues.delete(id);
    });
    return next;
  }
  /** Settles once every task queued so far has. */
  const drain = () => Promise.all([...queues.values()]);
  return { serialize, drain };
}

/** Checkpoints whose paths a store keeps, so that a flush does not encode its id again. */
const PATHS_KEPT = 64;

/** A checkpoint's paths, from its id: each id is encoded once (until more than 64 are kept). */
function pathsCache(dir: string): (id: string) => CheckpointPaths {
  const kept = new Map<string, CheckpointPaths>();
  return (id) => {
    let at = kept.get(id);
    if (!at) {
      at = pathsOf(dir, encodeCheckpointId(id));
      if (kept.size >= PATHS_KEPT) kept.clear();
      kept.set(id, at);
    }
    return at;
  };
}

/** Snapshot plus journal bytes from which a compaction leaves the calling thread (see FileStoreOptions). */
const DEFAULT_COMPACT_IN_WORKER_ABOVE = 1024 * 1024;

/**
 * The embedded default store: in `dir`, each checkpoint is a snapshot `<id>.checkpoint.json`
 * and a journal `<id>.checkpoint.jsonl` beside it. `append` resolves once its batch is durable
 * (one write to a journal opened with O_DSYNC; without O_DSYNC, a write then fdatasync);
 * compaction replaces the snapshot atomically and fsyncs the directory; `lock` takes a
 * cross-process lock that names its owner. See the README for the exact guarantees.
 *
 * ```ts
 * const run = await openRun({ id: 'github:acme/pulls', store: fileStore() });
 * ```
 */
export function fileStore(options: FileStoreOptions = {}): FileStore {
  // Node expands no `~`: `dir: '~/ck'` would be a folder named `~` in the working directory.
  if (options.dir?.startsWith('~')) {
    throw new OptionsError(
      'fileStore',
      'dir',
      tildeProblem('Node does not expand (os.homedir() is the home folder)'),
    );
  }
  const dir = resolve(options.dir ?? defaultCheckpointDir());
  const staleMs = Math.max(options.staleMs ?? DEFAULT_STALE_MS, 2000);
  const warn =
    options.onWarning ??
    ((warning: FileStoreWarning) =>
      process.emitWarning(warning.message, {
        code: `CHECKPOINTKIT_${warning.code.toUpperCase().replace(/-/g, '_')}`,
      }));
  const mine = new Map<string, HeldLock>();
  const { serialize, drain } = serializer();
  const ctx: StoreContext = {
    dir,
    staleMs,
    compactAfter: options.compactAfter,
    compactInWorkerAbove: options.compactInWorkerAbove ?? DEFAULT_COMPACT_IN_WORKER_ABOVE,
    warn,
    writers: new JournalWriters(mine),
    compactRetryAt: new Map(),
    compactions: new Map(),
    journalEpochs: new Map(),
    mine,
    paths: pathsCache(dir),
    mayWrite: (at, id) => assertMayWrite(at.lock, id, staleMs, mine.get(at.lock)),
    serialize,
  };
  const { writers, paths } = ctx;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new CheckpointError(`the file store at ${dir} is closed`);
  }

  return {
    description: `file store at ${dir}`,
    dir,
    async load(id) {
      assertOpen();
      return serialize(id, () => loadNow(ctx, id));
    },
    async append(id, changes) {
      assertOpen();
      const valid = validateChanges(id, changes);
      if (valid.length === 0) return;
      return serialize(id, () => appendNow(ctx, id, valid));
    },
    async compact(id) {
      assertOpen();
      // A compaction already running was prepared before this call: let it end, then fold the rest.
      await ctx.compactions.get(id)?.catch(() => {});
      return compactNow(ctx, id);
    },
    async list() {
      assertOpen();
      return listNow(ctx);
    },
    async delete(id) {
      assertOpen();
      return serialize(id, () => deleteNow(ctx, id));
    },
    async lock(id): Promise<CheckpointLock> {
      assertOpen();
      const at = paths(id);
      await ensureDir(dir);
      const held = await acquireLock({ lockDir: at.lock, checkpointId: id, staleMs });
      mine.set(at.lock, held);
      // What this store cached of the journal before it held the lock may be stale: others
      // could write then. Under the lock, the journal must be read afresh once.
      try {
        await serialize(id, async () => {
          await writers.drop(id);
          // A holder taken over may be alive, with a write it checked before: fence it off.
          if (held.tookOver) await fenceOffOldWriter(id, at);
        });
      } catch (error) {
        if (mine.get(at.lock) === held) mine.delete(at.lock);
        await held.release();
        throw error;
      }
      return {
        id,
        owner: held.owner,
        release: async () => {
          // A compaction switches over under this lock: let it finish first.
          await ctx.compactions.get(id)?.catch(() => {});
          if (mine.get(at.lock) === held) mine.delete(at.lock);
          // The run is over: close the journal handle once pending writes are done.
          await serialize(id, () => writers.drop(id)).catch(() => {});
          await held.release();
        },
      };
    },
    async repair(id) {
      assertOpen();
      return serialize(id, async () => {
        const at = paths(id);
        await writers.drop(id);
        const own = mine.get(at.lock);
        const held = own ?? (await acquireLock({ lockDir: at.lock, checkpointId: id, staleMs }));
        try {
          await assertMayWrite(at.lock, id, staleMs, held);
          return await repairCheckpoint(id, at);
        } finally {
          if (!own) await held.release();
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...ctx.compactions.values()]);
      await drain();
      await writers.dropAll();
      for (const held of [...mine.values()]) await held.release();
      mine.clear();
    },
  };
}
