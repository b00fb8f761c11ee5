import { CheckpointError, ConfigMismatchError, type IdMapConflictError } from '../errors.js';
import { configDigest } from '../model/digest.js';
import { applyChange, emptyCheckpoint } from '../model/reducer.js';
import type { Checkpoint } from '../model/schema.js';
import { checkOptions, OpenRunOptionsSchema } from '../options.js';
import type { CheckpointLock, CheckpointStore } from '../store/contract.js';
import { anyOf, everyMs, everyPage, everyUnits, type SaveStrategy } from '../strategies/index.js';
import { Run } from './run.js';
import { handleSignals, type SignalOptions } from './signals.js';
import type { WorkerInfo } from './types.js';

export interface OpenRunOptions {
  /** The job's id, such as `github:acme/pulls`. */
  id: string;
  store: CheckpointStore;
  /** The job's config; its digest is stored and checked on resume. */
  config?: unknown;
  /**
   * When to flush. Default {@link DEFAULT_STRATEGY}: after every page (as long as saving takes
   * at most 5% of the time), every finished unit, and every 2 seconds.
   */
  strategy?: SaveStrategy;
  /** What to do when the config changed since the checkpoint was made. Default `error`. */
  onConfigChange?: 'error' | 'reset' | 'keep';
  /**
   * Save and exit 130/143 on SIGINT/SIGTERM (default true). `false` leaves signals alone; an
   * object supplies the signal source and exit function (for tests and embedding).
   */
  signals?: boolean | SignalOptions;
  /** Delete the checkpoint on a clean finish. Default: CHECKPOINT_AUTO_CLEANUP, else true. */
  autoCleanup?: boolean;
  /** Called when a run refuses an id mapping that conflicts with an existing one. */
  onIdConflict?: (conflict: IdMapConflictError) => void;
  /** The clock, for tests. */
  now?: () => Date;
  /**
   * Worker mode: this process is one of many that share the checkpoint, on a store that supports
   * it (PostgreSQL). Instead of the exclusive lock the run joins the checkpoint (creating it when
   * it does not exist), `pipeline()` takes its units from the store's claims, each leased to this
   * worker for `leaseMs` (default 30 s, renewed while the worker saves); a dead worker's units
   * return to the others when its lease expires. `onConfigChange: "reset"` is refused here.
   */
  worker?: { id?: string; leaseMs?: number };
}

/** Default lease of a claimed unit in worker mode. */
const DEFAULT_LEASE_MS = 30_000;

/**
 * `anyOf(everyUnits(1), everyPage(), everyMs(2000))`: a crash redoes at most the page in flight
 * of each unit (for sources with a page cursor), or, when pages come faster than 19 flushes'
 * time, about 19 flushes' worth of pages; saving takes at most about 5% of the time. `everyMs`
 * covers changes that are not pages (id mappings, counters recorded by hand).
 */
export const DEFAULT_STRATEGY: SaveStrategy = anyOf(everyUnits(1), everyPage(), everyMs(2000));

/**
 * Opens a job: takes the checkpoint's exclusive lock (a second opener gets
 * {@link CheckpointLockedError} naming the owner), loads or creates the checkpoint, checks the
 * config digest, and returns the {@link Run}.
 */
export async function openRun(options: OpenRunOptions): Promise<Run> {
  checkOptions('openRun', OpenRunOptionsSchema, options);
  const { id, store } = options;
  const now = options.now ?? (() => new Date());
  const digest = options.config === undefined ? null : await configDigest(options.config);
  if (options.worker) return openWorker(options, options.worker, digest, now);
  const lock = await store.lock(id);
  try {
    let checkpoint = await store.load(id);
    if (checkpoint && digest !== null && checkpoint.configDigest !== digest) {
      const policy = options.onConfigChange ?? 'error';
      if (policy === 'error') throw new ConfigMismatchError(id, checkpoint.configDigest, digest);
      if (policy === 'reset') checkpoint = null;
      else {
        const change = { type: 'config', at: now().toISOString(), configDigest: digest } as const;
        await store.append(id, [change]);
        applyChange(checkpoint, change);
      }
    }
    const resumed = checkpoint !== null;
    // A reset writes a new `created` change: the log starts over, the old state is gone.
    if (!checkpoint) checkpoint = await create(store, id, digest, now);
    if (checkpoint.status !== 'running') {
      const change = { type: 'status', at: now().toISOString(), status: 'running' } as const;
      await store.append(id, [change]);
      applyChange(checkpoint, change);
    }

    return startRun(options, lock, checkpoint, resumed, now, null);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

function startRun(
  options: OpenRunOptions,
  lock: CheckpointLock,
  checkpoint: Checkpoint,
  resumed: boolean,
  now: () => Date,
  worker: WorkerInfo | null,
): Run {
  let unregister = () => {};
  const run = new Run({
    store: options.store,
    lock,
    checkpoint,
    strategy: options.strategy ?? DEFAULT_STRATEGY,
    resumed,
    autoCleanup: options.autoCleanup ?? autoCleanupFromEnv(),
    now,
    onIdConflict: options.onIdConflict,
    onClose: () => unregister(),
    worker,
  });
  if (options.signals !== false) {
    unregister = handleSignals(run, options.signals === true ? {} : options.signals);
  }
  return run;
}

async function openWorker(
  options: OpenRunOptions,
  worker: NonNullable<OpenRunOptions['worker']>,
  digest: string | null,
  now: () => Date,
): Promise<Run> {
  const { id, store } = options;
  if (!store.join || !store.claimUnits) {
    throw new CheckpointError(
      `${store.description} has no worker mode (it needs join and claimUnits)`,
    );
  }
  if (options.onConfigChange === 'reset') {
    throw new CheckpointError(
      `checkpoint "${id}": onConfigChange "reset" would wipe the other workers' work; reset it in a run without worker mode first`,
    );
  }
  const info: WorkerInfo = {
    id: worker.id ?? defaultWorkerId(),
    leaseMs: worker.leaseMs ?? DEFAULT_LEASE_MS,
  };
  if (!(Number.isFinite(info.leaseMs) && info.leaseMs > 0)) {
    throw new RangeError(
      `openRun: worker.leaseMs must be a positive number of milliseconds, got ${info.leaseMs}`,
    );
  }
  const created = { type: 'created', at: now().toISOString(), id, configDigest: digest } as const;
  const hold = await store.join(id, { worker: info.id, leaseMs: info.leaseMs, created });
  try {
    const checkpoint = await store.load(id);
    if (!checkpoint)
      throw new CheckpointError(`checkpoint "${id}" vanished while worker ${info.id} joined it`);
    if (!hold.created && digest !== null && checkpoint.configDigest !== digest) {
      if ((options.onConfigChange ?? 'error') === 'error') {
        throw new ConfigMismatchError(id, checkpoint.configDigest, digest);
      }
      const change = { type: 'config', at: now().toISOString(), configDigest: digest } as const;
      await store.append(id, [change]);
      applyChange(checkpoint, change);
    }
    if (checkpoint.status !== 'running') {
      const change = { type: 'status', at: now().toISOString(), status: 'running' } as const;
      await store.append(id, [change]);
      applyChange(checkpoint, change);
    }
    return startRun(options, hold, checkpoint, !hold.created, now, info);
  } catch (error) {
    await hold.release();
    throw error;
  }
}

/** pid and a random suffix: unique enough among the workers of one checkpoint. */
function defaultWorkerId(): string {
  const pid = globalThis.process?.pid ?? 0;
  const random =
    globalThis.crypto?.randomUUID?.().slice(0, 8) ?? Math.random().toString(36).slice(2, 10);
  return `worker-${pid}-${random}`;
}

async function create(
  store: CheckpointStore,
  id: string,
  digest: string | null,
  now: () => Date,
): Promise<Checkpoint> {
  const at = now().toISOString();
  await store.append(id, [{ type: 'created', at, id, configDigest: digest }]);
  return emptyCheckpoint(id, at, digest);
}

/** CHECKPOINT_AUTO_CLEANUP as in seed 002: true unless set to false, 0, no or off. */
export function autoCleanupFromEnv(): boolean {
  const value = globalThis.process?.env?.['CHECKPOINT_AUTO_CLEANUP'];
  if (value === undefined || value === '') return true;
  return !['false', '0', 'no', 'off'].includes(value.trim().toLowerCase());
}
