import { CheckpointValueError, IdMapConflictError, RunClosedError } from '../errors.js';
import type { Change } from '../model/changes.js';
import { unitField } from '../model/json-value.js';
import { own } from '../model/records.js';
import type { Checkpoint, Json, MappedId, RunStatus, Unit } from '../model/schema.js';
import { type CheckpointSummary, summarize } from '../model/summary.js';
import { ClaimOptionsSchema, checkOptions, PendingOptionsSchema } from '../options.js';
import type { CheckpointLock, CheckpointStore } from '../store/contract.js';
import type { RateLimitInfo, SaveStrategy } from '../strategies/index.js';
import { checkChange } from './check-change.js';
import { failedChange } from './failure.js';
import { isoClock } from './iso-clock.js';
import { pendingKeys } from './pending.js';
import { Saver } from './saver.js';
import type {
  Claim,
  ClaimOptions,
  FinishOptions,
  FinishResult,
  IdMapping,
  MapIdResult,
  PendingOptions,
  ProgressUpdate,
  WorkerInfo,
} from './types.js';
import { claimUnits, isSettled } from './worker.js';

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
  readonly #autoCleanup: boolean;
  readonly #iso: () => string;
  readonly #onIdConflict: RunInit['onIdConflict'];
  readonly #onClose: () => void;
  /** Buffers the recorded changes and saves them: flushes and transactions. */
  readonly #saver: Saver;
  #closed = false;
  /** Set once SIGINT/SIGTERM interrupted the run: the process is about to exit. */
  #interrupted = false;
  /** Set once finish() started: a signal then waits for it instead of interrupting. */
  #finishing: Promise<FinishResult> | null = null;
  readonly #stopping = new AbortController();

  /** @internal use {@link openRun}. */
  constructor(init: RunInit) {
    this.id = init.checkpoint.id;
    this.resumed = init.resumed;
    this.#store = init.store;
    this.#lock = init.lock;
    this.#state = init.checkpoint;
    this.#autoCleanup = init.autoCleanup;
    this.#iso = isoClock(init.now);
    this.#onIdConflict = init.onIdConflict;
    this.#onClose = init.onClose;
    this.worker = init.worker ?? null;
    this.#saver = new Saver({
      id: this.id,
      store: init.store,
      state: init.checkpoint,
      strategy: init.strategy,
      now: init.now,
      assertOpen: () => this.#assertOpen(),
      release: () => this.#release(),
      worker: this.worker?.id ?? null,
    });
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
    return this.#saver.unsaved;
  }

  unit(key: string): Readonly<Unit> | undefined {
    return own(this.#state.units, key);
  }

  summary(): CheckpointSummary {
    return summarize(this.#state);
  }

  /** Adds units (pending) that are not in the checkpoint yet; known units keep their state. */
  async plan(units: Iterable<string | { key: string; total?: number | null }>): Promise<void> {
    const planned: Change[] = [];
    for (const item of units) {
      const { key, total } = typeof item === 'string' ? { key: item, total: undefined } : item;
      const known = own(this.#state.units, key);
      if (known && (total === undefined || known.total === total)) continue;
      planned.push({
        type: 'unit.planned',
        at: this.#at(),
        key,
        ...(total !== undefined && { total }),
      });
    }
    // All or nothing: one key the store cannot take refuses the whole call, before any is recorded.
    for (const change of planned) this.#validate(change);
    for (const change of planned) this.#record(change, true);
    await this.#saver.maybeSave();
  }

  /** Keys of the units still to do, in plan order. */
  pending(options: PendingOptions = {}): string[] {
    checkOptions('run.pending', PendingOptionsSchema, options);
    return pendingKeys(this.#state.units, options);
  }

  async start(key: string): Promise<void> {
    this.#record({ type: 'unit.started', at: this.#at(), key });
    await this.#saver.maybeSave();
  }

  /** Records a step of a unit: its new cursor, items done, and id mappings, saved together. */
  async progress(key: string, update: ProgressUpdate): Promise<void> {
    const items = update.items ?? 0;
    const done = (own(this.#state.units, key)?.done ?? 0) + items;
    const progressed: Change = {
      type: 'unit.progressed',
      at: this.#at(),
      key,
      cursor: update.cursor,
      done,
      ...(update.total !== undefined && { total: update.total }),
    };
    const meta: Change[] = update.meta
      ? Object.entries(update.meta).map(([key, value]) => ({ type: 'meta.set', key, value }))
      : [];
    if (!(items >= 0) || !Number.isFinite(items))
      throw new CheckpointValueError(
        `${unitField(key)}.done`,
        `a page of unit ${JSON.stringify(key)} has ${items} items; a count of items is a finite number, not below 0`,
      );
    // The page's mappings, metadata and cursor are recorded together or not at all: no flush
    // can come between them, so a store holds all of them or none.
    for (const mapping of update.idMappings ?? [])
      this.#validate({ type: 'id.mapped', ...mapping });
    for (const change of meta) this.#validate(change);
    this.#validate(progressed);
    for (const mapping of update.idMappings ?? []) this.#mapId(mapping);
    for (const change of meta) this.#record(change, true);
    this.#record(progressed, true);
    this.#saver.countPage();
    this.#saver.countItems(items);
    if (update.rateLimit) this.#saver.reportRateLimit(update.rateLimit);
    await this.#saver.maybeSave();
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
    this.#saver.countUnit();
    this.#saver.countItems(items);
    await this.#saver.maybeSave();
  }

  /**
   * Marks a unit failed. Retryable unless said otherwise or the error is a non-retryable
   * UnitError; the error's structured cause (`failureCause`: status, errcode, URL) is kept.
   */
  async fail(key: string, error: unknown, options: { retryable?: boolean } = {}): Promise<void> {
    this.#record(failedChange(key, this.#at(), error, options.retryable));
    this.#saver.countUnit();
    await this.#saver.maybeSave();
  }

  /** Puts a unit back to pending: from where it stopped (`keepCursor`, the default) or from scratch. */
  async reset(key: string, options: { keepCursor?: boolean } = {}): Promise<void> {
    this.#record({
      type: 'unit.reset',
      at: this.#at(),
      key,
      keepCursor: options.keepCursor ?? true,
    });
    await this.#saver.maybeSave();
  }

  /** Maps a source id to a target id. A different target for a mapped id is refused and reported. */
  async mapId(map: string, source: string, target: MappedId): Promise<MapIdResult> {
    const result = this.#mapId({ map, source, target });
    await this.#saver.maybeSave();
    return result;
  }

  lookupId(map: string, source: string): MappedId | undefined {
    return this.#idMapEntry(map, source);
  }

  async count(name: string, by = 1): Promise<void> {
    this.#record({ type: 'counter.added', name, by });
    await this.#saver.maybeSave();
  }

  async setMeta(key: string, value: Json): Promise<void> {
    this.#record({ type: 'meta.set', key, value });
    await this.#saver.maybeSave();
  }

  /** Tells the save strategy the latest rate limit (pipelines do this from each page). */
  async reportRateLimit(rateLimit: RateLimitInfo): Promise<void> {
    this.#saver.reportRateLimit(rateLimit);
    await this.#saver.maybeSave();
  }

  /**
   * Saves what is buffered now. Resolves when the store acknowledged it. After the run was closed
   * there is nothing to save, unless its last save failed: then it rejects with
   * {@link RunClosedError} rather than write without the lock, over the work of whichever process
   * took the checkpoint over since.
   */
  flush(reason = 'Manual flush'): Promise<void> {
    const unsaved = this.#saver.unsaved;
    if (this.#closed && unsaved > 0) {
      const detail = `${unsaved} change${unsaved === 1 ? '' : 's'} its last save could not write ${unsaved === 1 ? 'is' : 'are'} not saved (the next run redoes that work)`;
      return Promise.reject(new RunClosedError(this.id, detail));
    }
    // Closed with nothing unsaved, the saver resolves, or rejects for a save of unknown outcome.
    return this.#saver.flush(reason);
  }

  /**
   * Marks the job completed, saves, and deletes the checkpoint when cleanup is on and no unit
   * failed (seed 000 keeps it when pages failed). Releases the lock.
   */
  finish(options: FinishOptions = {}): Promise<FinishResult> {
    // After SIGINT/SIGTERM the process is exiting with 130/143: finishing would mark it completed.
    if (this.#interrupted) return new Promise<never>(() => {});
    this.#assertOpen();
    this.#finishing ??= this.worker ? this.#finishWorker(options) : this.#finishJob(options);
    return this.#finishing;
  }

  async #finishJob(options: FinishOptions): Promise<FinishResult> {
    this.#setStatus('completed');
    await this.#saver.flush('Finished', { last: true });
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
   * The lock is released even when the last save fails (its error is thrown after), so that a
   * run that cannot reach its store never keeps the checkpoint locked in this process.
   */
  async close(status?: RunStatus): Promise<void> {
    if (this.#closed) return;
    const next = status ?? (this.worker ? null : 'interrupted');
    if (next && this.#state.status !== next) this.#setStatus(next);
    try {
      await this.#saver.flush('Closed', { last: true });
    } finally {
      await this.#release();
    }
  }

  /** @internal called by the signal handler. */
  async interrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
    if (this.#closed) return;
    // The job is done and finish() is saving that (or deleting the checkpoint): let it end. Marked
    // interrupted, a completed job would be redone; its save after a delete would fail.
    if (this.#finishing) {
      try {
        await this.#finishing;
      } finally {
        await this.#release();
      }
      return;
    }
    // A worker stops alone: the others go on, so the checkpoint is not interrupted.
    if (!this.worker) this.#setStatus('interrupted');
    // From here on the job's own code may still call the run before the process exits: those
    // changes are dropped (they come after the last save), not thrown at it as errors.
    this.#interrupted = true;
    this.#stopping.abort(new Error(`interrupted by ${signal}`));
    // As in close(): a save that fails (a full disk) must not keep the lock past the exit; the
    // signal handler prints the error and the next run redoes what was not saved.
    try {
      await this.#saver.flush(`Interrupted by ${signal}`, { last: true });
    } finally {
      await this.#release();
    }
  }

  /** Drops what was not flushed and releases the lock, as a crash would. For tests. */
  async abandon(): Promise<void> {
    this.#saver.drop();
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
    checkOptions('run.claim', ClaimOptionsSchema, options);
    return claimUnits(
      { store: this.#store, id: this.id, worker: this.worker, state: this.#state },
      limit,
      options,
    );
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
    return this.#saver.transaction(work, reason);
  }

  #idMapEntry(map: string, source: string): MappedId | undefined {
    const entries = own(this.#state.idMaps, map);
    return entries ? own(entries, source) : undefined;
  }

  #at(): string {
    return this.#iso();
  }

  #assertOpen(): void {
    if (this.#closed) throw new RunClosedError(this.id);
  }

  /**
   * Records a change (applies it and buffers it for the store). A change the store could never
   * save is refused here, before it enters the buffer: it must not fail every later flush.
   */
  #record(change: Change, validated = false): void {
    if (this.#interrupted) return;
    this.#assertOpen();
    if (!validated) this.#validate(change);
    this.#saver.record(ownValues(change));
  }

  #validate(change: Change): void {
    checkChange(change);
    this.#store.validateChange?.(this.id, change);
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

  async #finishWorker(options: FinishOptions): Promise<FinishResult> {
    await this.flush('Worker finished');
    const stored = await this.#store.load(this.id);
    const settled = isSettled(stored);
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

/**
 * The change with its own copy of a cursor or meta value that is an object: it waits in the
 * buffer until the next flush, and a source that advances the cursor object it yielded (or a
 * sink its meta) before then would have the store save a cursor ahead of what the sink wrote.
 * Numbers and strings, the common cursors, cost nothing. Called on checked changes (JSON only).
 */
function ownValues(change: Change): Change {
  switch (change.type) {
    case 'unit.progressed':
    case 'unit.completed':
      if (typeof change.cursor === 'object' && change.cursor !== null)
        return { ...change, cursor: structuredClone(change.cursor) };
      return change;
    case 'meta.set':
      if (typeof change.value === 'object' && change.value !== null)
        return { ...change, value: structuredClone(change.value) };
      return change;
    default:
      return change;
  }
}
