import {
  CheckpointError,
  errorMessage,
  IdMapConflictError,
  isRetryable,
  RunClosedError,
} from '../errors.js';
import type { Change } from '../model/changes.js';
import { isUnderPrefix } from '../model/keys.js';
import { own, setOwn } from '../model/records.js';
import { applyChange } from '../model/reducer.js';
import type { Checkpoint, Json, MappedId, RunStatus, Unit } from '../model/schema.js';
import { type CheckpointSummary, summarize } from '../model/summary.js';
import type { CheckpointLock, CheckpointStore, ClaimRequest } from '../store/contract.js';
import type { RateLimitInfo, SaveContext, SaveStrategy } from '../strategies/index.js';
import { UndoLog } from './undo.js';

export interface PendingOptions {
  /** Also return failed units: all of them (`true`) or only those whose error is retryable. */
  retryFailed?: boolean | 'retryable';
  /** Start from this key, in plan order: units planned before it are skipped (seed 003's --from-repo). */
  from?: string;
  /** Only units at or below this key path, such as `collect/acme`. */
  prefix?: string;
}

export interface ProgressUpdate {
  /** Where to continue after this step; stored as the unit's cursor. */
  cursor: Json;
  /** Items processed in this step, added to the unit's done count. */
  items?: number;
  /** The unit's total, when it becomes known. */
  total?: number | null;
  /** Id mappings produced by this step, recorded in the same flush as the cursor. */
  idMappings?: readonly IdMapping[];
  /** The latest rate limit, fed to the save strategy. */
  rateLimit?: RateLimitInfo;
}

export interface IdMapping {
  map: string;
  source: string;
  target: MappedId;
}

export type MapIdResult = { ok: true } | { ok: false; conflict: IdMapConflictError };

export interface FinishOptions {
  /** Delete the checkpoint when nothing failed. Defaults to the run's autoCleanup. */
  cleanup?: boolean;
}

export interface FinishResult {
  summary: CheckpointSummary;
  /** True when the checkpoint was deleted because the job completed with nothing failed. */
  deleted: boolean;
}

/** A run in worker mode: one of many processes that share a checkpoint (see `openRun`'s `worker`). */
export interface WorkerInfo {
  /** This worker's id, unique among the checkpoint's workers. */
  id: string;
  /** How long a claimed unit stays leased to this worker unless renewed. */
  leaseMs: number;
}

export interface ClaimOptions {
  /** Also claim failed units: all of them (`true`) or retryable ones. Default: none. */
  retryFailed?: boolean | 'retryable';
  /** Only failed units whose failure was recorded before this time (ISO 8601). */
  failedBefore?: string;
}

export interface Claim {
  /** Keys of the units now leased to this worker, their start recorded. */
  keys: string[];
  /** Unfinished units other workers hold under a live lease. */
  leasedElsewhere: number;
  /** When the earliest of those leases expires (ISO 8601), or null. */
  nextExpiry: string | null;
}

/** @internal what openRun hands to the run it creates. */
export interface RunInit {
  store: CheckpointStore;
  lock: CheckpointLock;
  checkpoint: Checkpoint;
  strategy: SaveStrategy;
  resumed: boolean;
  autoCleanup: boolean;
  now: () => Date;
  onIdConflict: ((conflict: IdMapConflictError) => void) | undefined;
  onClose: () => void;
  worker?: WorkerInfo | null;
}

/**
 * An open job: the checkpoint it works on, held under an exclusive lock. Changes apply at once to
 * {@link Run.checkpoint} and are buffered; they reach the store when the save strategy says so
 * or on {@link Run.flush}. What a flush acknowledged is never lost; work after it is redone.
 */
export class Run {
  readonly id: string;
  /** True when an existing checkpoint was picked up. */
  readonly resumed: boolean;
  /** Worker mode: this worker's id and lease; null for a run that holds the checkpoint alone. */
  readonly worker: WorkerInfo | null;
  readonly #store: CheckpointStore;
  readonly #lock: CheckpointLock;
  readonly #state: Checkpoint;
  readonly #strategy: SaveStrategy;
  readonly #autoCleanup: boolean;
  readonly #now: () => Date;
  readonly #onIdConflict: RunInit['onIdConflict'];
  readonly #onClose: () => void;
  #buffer: Change[] = [];
  #since = { changes: 0, units: 0, items: 0, at: 0 };
  #rateLimit: RateLimitInfo | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Set once SIGINT/SIGTERM interrupted the run: the process is about to exit. */
  #interrupted = false;
  readonly #stopping = new AbortController();
  /** Set while a store transaction is open: what its changes overwrote. */
  #undo: UndoLog | null = null;

  /** @internal use {@link openRun}. */
  constructor(init: RunInit) {
    this.id = init.checkpoint.id;
    this.resumed = init.resumed;
    this.#store = init.store;
    this.#lock = init.lock;
    this.#state = init.checkpoint;
    this.#strategy = init.strategy;
    this.#autoCleanup = init.autoCleanup;
    this.#now = init.now;
    this.#onIdConflict = init.onIdConflict;
    this.#onClose = init.onClose;
    this.worker = init.worker ?? null;
    this.#since.at = this.#now().getTime();
  }

  /** The live state, including changes not flushed yet. Read it; change it through the run. */
  get checkpoint(): Readonly<Checkpoint> {
    return this.#state;
  }

  /**
   * Aborted when the run stops taking work: interrupted by SIGINT/SIGTERM, closed or finished.
   * `pipeline()` stops on it; pass it to your own fetches so they end with the run.
   */
  get signal(): AbortSignal {
    return this.#stopping.signal;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Changes recorded but not yet acknowledged by the store. */
  get unsaved(): number {
    return this.#buffer.length;
  }

  unit(key: string): Readonly<Unit> | undefined {
    return own(this.#state.units, key);
  }

  summary(): CheckpointSummary {
    return summarize(this.#state);
  }

  /** Adds units (pending) that are not in the checkpoint yet; known units keep their state. */
  async plan(units: Iterable<string | { key: string; total?: number | null }>): Promise<void> {
    for (const item of units) {
      const { key, total } = typeof item === 'string' ? { key: item, total: undefined } : item;
      const known = own(this.#state.units, key);
      if (known && (total === undefined || known.total === total)) continue;
      this.#record({
        type: 'unit.planned',
        at: this.#at(),
        key,
        ...(total !== undefined && { total }),
      });
    }
    await this.#maybeSave();
  }

  /** Keys of the units still to do, in plan order. */
  pending(options: PendingOptions = {}): string[] {
    const keys: string[] = [];
    let started = options.from === undefined;
    for (const [key, unit] of Object.entries(this.#state.units)) {
      if (!started) {
        if (key !== options.from) continue;
        started = true;
      }
      if (options.prefix !== undefined && !isUnderPrefix(key, options.prefix)) continue;
      if (isPending(unit, options.retryFailed ?? false)) keys.push(key);
    }
    if (!started) throw new CheckpointError(`pending: no unit "${options.from}" to start from`);
    return keys;
  }

  async start(key: string): Promise<void> {
    this.#record({ type: 'unit.started', at: this.#at(), key });
    await this.#maybeSave();
  }

  /** Records a step of a unit: its new cursor, items done, and id mappings, saved together. */
  async progress(key: string, update: ProgressUpdate): Promise<void> {
    const items = update.items ?? 0;
    for (const mapping of update.idMappings ?? []) this.#mapId(mapping);
    const done = (own(this.#state.units, key)?.done ?? 0) + items;
    this.#record({
      type: 'unit.progressed',
      at: this.#at(),
      key,
      cursor: update.cursor,
      done,
      ...(update.total !== undefined && { total: update.total }),
    });
    this.#since.items += items;
    if (update.rateLimit) this.#rateLimit = update.rateLimit;
    await this.#maybeSave();
  }

  async complete(key: string, options: { cursor?: Json; items?: number } = {}): Promise<void> {
    const items = options.items ?? 0;
    this.#record({
      type: 'unit.completed',
      at: this.#at(),
      key,
      ...(options.cursor !== undefined && { cursor: options.cursor }),
      ...(items > 0 && { done: (own(this.#state.units, key)?.done ?? 0) + items }),
    });
    this.#since.units += 1;
    this.#since.items += items;
    await this.#maybeSave();
  }

  /** Marks a unit failed. Retryable unless said otherwise or the error is a non-retryable UnitError. */
  async fail(key: string, error: unknown, options: { retryable?: boolean } = {}): Promise<void> {
    this.#record({
      type: 'unit.failed',
      at: this.#at(),
      key,
      message: errorMessage(error),
      retryable: options.retryable ?? isRetryable(error),
    });
    this.#since.units += 1;
    await this.#maybeSave();
  }

  /** Puts a unit back to pending: from where it stopped (`keepCursor`, the default) or from scratch. */
  async reset(key: string, options: { keepCursor?: boolean } = {}): Promise<void> {
    this.#record({
      type: 'unit.reset',
      at: this.#at(),
      key,
      keepCursor: options.keepCursor ?? true,
    });
    await this.#maybeSave();
  }

  /** Maps a source id to a target id. A different target for a mapped id is refused and reported. */
  async mapId(map: string, source: string, target: MappedId): Promise<MapIdResult> {
    const result = this.#mapId({ map, source, target });
    await this.#maybeSave();
    return result;
  }

  lookupId(map: string, source: string): MappedId | undefined {
    return this.#idMapEntry(map, source);
  }

  async count(name: string, by = 1): Promise<void> {
    this.#record({ type: 'counter.added', name, by });
    await this.#maybeSave();
  }

  async setMeta(key: string, value: Json): Promise<void> {
    this.#record({ type: 'meta.set', key, value });
    await this.#maybeSave();
  }

  /** Tells the save strategy the latest rate limit (pipelines do this from each page). */
  async reportRateLimit(rateLimit: RateLimitInfo): Promise<void> {
    this.#rateLimit = rateLimit;
    await this.#maybeSave();
  }

  /** Saves what is buffered now. Resolves when the store acknowledged it. */
  flush(reason = 'Manual flush'): Promise<void> {
    const next = this.#flushing.then(() => this.#flushNow(reason));
    // A failed flush must not poison the ones after it; the caller still sees this one's error.
    this.#flushing = next.catch(() => {});
    return next;
  }

  /**
   * Marks the job completed, saves, and deletes the checkpoint when cleanup is on and no unit
   * failed (seed 000 keeps it when pages failed). Releases the lock.
   */
  async finish(options: FinishOptions = {}): Promise<FinishResult> {
    // After SIGINT/SIGTERM the process is exiting with 130/143: finishing would mark it completed.
    if (this.#interrupted) return new Promise<never>(() => {});
    this.#assertOpen();
    if (this.worker) return this.#finishWorker(options);
    this.#setStatus('completed');
    await this.flush('Finished');
    const summary = this.summary();
    const deleted = (options.cleanup ?? this.#autoCleanup) && summary.counts.failed === 0;
    if (deleted) await this.#store.delete(this.id);
    else await this.#store.compact(this.id);
    await this.#release();
    return { summary, deleted };
  }

  /**
   * Saves and releases the lock, leaving the job resumable (status `interrupted` unless finished).
   * A worker leaves the checkpoint's status alone (other workers may go on) unless `status` is given.
   */
  async close(status?: RunStatus): Promise<void> {
    if (this.#closed) return;
    const next = status ?? (this.worker ? null : 'interrupted');
    if (next && this.#state.status !== next) this.#setStatus(next);
    await this.flush('Closed');
    await this.#release();
  }

  /** @internal called by the signal handler. */
  async interrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
    if (this.#closed) return;
    // A worker stops alone: the others go on, so the checkpoint is not interrupted.
    if (!this.worker) this.#setStatus('interrupted');
    // From here on the job's own code may still call the run before the process exits: those
    // changes are dropped (they come after the last save), not thrown at it as errors.
    this.#interrupted = true;
    this.#stopping.abort(new Error(`interrupted by ${signal}`));
    await this.flush(`Interrupted by ${signal}`);
    await this.#release();
  }

  /** Drops what was not flushed and releases the lock, as a crash would. For tests. */
  async abandon(): Promise<void> {
    this.#buffer = [];
    await this.#release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Worker mode: leases up to `limit` claimable units to this worker (the store records their
   * start) and loads their current state into {@link Run.checkpoint}.
   */
  async claim(limit: number, options: ClaimOptions = {}): Promise<Claim> {
    this.#assertOpen();
    const worker = this.worker;
    if (!worker || !this.#store.claimUnits) {
      throw new CheckpointError(
        `claim needs worker mode: openRun({ worker }) on a store that has it`,
      );
    }
    const request: ClaimRequest = {
      worker: worker.id,
      limit,
      leaseMs: worker.leaseMs,
      ...(options.retryFailed !== undefined && { retryFailed: options.retryFailed }),
      ...(options.failedBefore !== undefined && { failedBefore: options.failedBefore }),
    };
    const result = await this.#store.claimUnits(this.id, request);
    for (const { key, unit } of result.units) {
      setOwn(this.#state.units, key, structuredClone(unit));
      if (unit.startedAt && unit.startedAt > this.#state.updatedAt)
        this.#state.updatedAt = unit.startedAt;
    }
    return {
      keys: result.units.map((claimed) => claimed.key),
      leasedElsewhere: result.leasedElsewhere,
      nextExpiry: result.nextExpiry,
    };
  }

  /**
   * Runs `work` inside one store transaction (the store must have them, as PostgreSQL does) and
   * commits, in that same transaction, every change the run has buffered and every change
   * recorded while `work` runs. A sink that writes through `client` into the same database thus
   * commits its rows together with the page's cursor: exactly-once. When the transaction does
   * not commit, the changes recorded while it was open are taken back from the run's state and
   * the error is thrown. Transactions and flushes of a run take turns; do not await
   * {@link Run.flush} inside `work`.
   */
  transaction<T>(work: (client: unknown) => Promise<T>, reason = 'Transaction'): Promise<T> {
    this.#assertOpen();
    const next = this.#flushing.then(() => this.#transactionNow(work, reason));
    this.#flushing = next.then(
      () => {},
      () => {},
    );
    return next;
  }
  #idMapEntry(map: string, source: string): MappedId | undefined {
    const entries = own(this.#state.idMaps, map);
    return entries ? own(entries, source) : undefined;
  }

  #at(): string {
    return this.#now().toISOString();
  }

  #assertOpen(): void {
    if (this.#closed) throw new RunClosedError(this.id);
  }

  #record(change: Change): void {
    if (this.#interrupted) return;
    this.#assertOpen();
    this.#undo?.before(this.#state, change);
    applyChange(this.#state, change);
    this.#buffer.push(change);
    this.#since.changes += 1;
  }

  #setStatus(status: RunStatus): void {
    this.#record({ type: 'status', at: this.#at(), status });
  }

  #mapId({ map, source, target }: IdMapping): MapIdResult {
    const existing = this.#idMapEntry(map, source);
    if (existing === undefined) {
      this.#record({ type: 'id.mapped', map, source, target });
      return { ok: true };
    }
    if (existing === target) return { ok: true };
    const conflict = new IdMapConflictError(map, source, existing, target);
    this.#record({ type: 'counter.added', name: 'idMapConflicts', by: 1 });
    this.#onIdConflict?.(conflict);
    return { ok: false, conflict };
  }

  #saveContext(): SaveContext {
    return {
      changes: this.#since.changes,
      units: this.#since.units,
      items: this.#since.items,
      elapsedMs: this.#now().getTime() - this.#since.at,
      rateLimit: this.#rateLimit,
    };
  }

  async #maybeSave(): Promise<void> {
    // Inside a transaction the transaction saves, when it commits.
    if (this.#buffer.length === 0 || this.#undo) return;
    const decision = this.#strategy.decide(this.#saveContext());
    if (decision.save) await this.flush(decision.reason);
  }

  async #flushNow(reason: string): Promise<void> {
    if (this.#buffer.length === 0) return;
    const changes = this.#buffer;
    const saved: Change = { type: 'saved', at: this.#at(), reason };
    this.#buffer = [];
    const since = this.#since;
    this.#since = { changes: 0, units: 0, items: 0, at: this.#now().getTime() };
    const rateLimit = this.#rateLimit;
    this.#rateLimit = null;
    try {
      await this.#store.append(this.id, [...changes, saved]);
    } catch (error) {
      // Not acknowledged: keep everything for the next flush, in order.
      this.#buffer = [...changes, ...this.#buffer];
      this.#since = {
        changes: since.changes + this.#since.changes,
        units: since.units + this.#since.units,
        items: since.items + this.#since.items,
        at: since.at,
      };
      this.#rateLimit ??= rateLimit;
      if (isOutcomeUnknown(error)) {
        // The store cannot tell whether it saved them: saving them again could apply them twice.
        // The run stops here; reopening it loads what the store holds.
        this.#buffer = [];
        await this.#release();
      }
      throw error;
    }
    applyChange(this.#state, saved);
  }

  async #transactionNow<T>(work: (client: unknown) => Promise<T>, reason: string): Promise<T> {
    this.#assertOpen();
    const store = this.#store;
    if (!store.transaction) {
      throw new CheckpointError(
        `${store.description} has no transactions; run.transaction needs one that has`,
      );
    }
    const before = this.#buffer;
    const since = this.#since;
    const rateLimit = this.#rateLimit;
    this.#buffer = [];
    const undo = new UndoLog(this.#state);
    this.#undo = undo;
    try {
      const { value, saved } = await store.transaction(this.id, async (tx) => {
        const value = await work(tx.client);
        const saved: Change = { type: 'saved', at: this.#at(), reason };
        // Changes recorded from here on (by other work) are not part of this transaction.
        const taken = this.#buffer;
        this.#buffer = [];
        await tx.append([...before, ...taken, saved]);
        return { value, saved };
      });
      this.#undo = null;
      applyChange(this.#state, saved);
      this.#since = { changes: this.#buffer.length, units: 0, items: 0, at: this.#now().getTime() };
      return value;
    } catch (error) {
      this.#undo = null;
      undo.restore(this.#state);
      // What was buffered before is still to save; what was recorded while it was open is gone.
      this.#buffer = before;
      this.#since = since;
      this.#rateLimit ??= rateLimit;
      if (isOutcomeUnknown(error)) {
        // The store cannot tell whether it committed: this run's state can no longer be trusted.
        this.#buffer = [];
        await this.#release();
      }
      throw error;
    }
  }

  async #finishWorker(options: FinishOptions): Promise<FinishResult> {
    await this.flush('Worker finished');
    const stored = await this.#store.load(this.id);
    const settled =
      stored !== null &&
      Object.values(stored.units).every(
        (unit) => unit.status === 'complete' || unit.status === 'failed',
      );
    if (settled && stored.status !== 'completed') {
      this.#setStatus('completed');
      await this.flush('Finished');
      stored.status = 'completed';
    }
    const summary = summarize(stored ?? this.#state);
    // Never by default: another worker may still flush into the checkpoint.
    const deleted = options.cleanup === true && settled && summary.counts.failed === 0;
    if (deleted) await this.#store.delete(this.id);
    await this.#release();
    return { summary, deleted };
  }

  async #release(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopping.abort(new Error('run closed'));
    this.#onClose();
    await this.#lock.release();
  }
}

function isOutcomeUnknown(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { outcomeUnknown?: unknown }).outcomeUnknown === true
  );
}

function isPending(unit: Unit, retryFailed: boolean | 'retryable'): boolean {
  switch (unit.status) {
    case 'pending':
    case 'in_progress':
      return true;
    case 'failed':
      return (
        retryFailed === true || (retryFailed === 'retryable' && unit.error?.retryable === true)
      );
    case 'complete':
      return false;
  }
}
