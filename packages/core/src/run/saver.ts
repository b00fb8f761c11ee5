import { CheckpointError, UnitTakenOverError } from '../errors.js';
import type { Change } from '../model/changes.js';
import { applyChange } from '../model/reducer.js';
import type { Checkpoint } from '../model/schema.js';
import type { CheckpointStore } from '../store/contract.js';
import type { RateLimitInfo, SaveContext, SaveStrategy } from '../strategies/index.js';
import { createTransactionScope, type TransactionScope } from './scope.js';
import { UndoLog } from './undo.js';

/** What a {@link Saver} needs from its run. */
export interface SaverInit {
  id: string;
  store: CheckpointStore;
  /** The run's live state: each change is applied to it when it is recorded. */
  state: Checkpoint;
  strategy: SaveStrategy;
  now: () => Date;
  /** Throws when the run is closed; checked again when a queued transaction starts. */
  assertOpen: () => void;
  /** Closes the run: called when the store cannot tell whether it saved. */
  release: () => Promise<void>;
  /** Worker mode: this worker's id, named when a unit it works on was taken over. */
  worker?: string | null;
}

/**
 * A run's way to its store: applies each recorded change to the live state and buffers it, asks
 * the save strategy when to save, and saves the buffer with a flush or inside a store
 * transaction. Flushes and transactions take turns. What the store did not acknowledge stays
 * buffered, in order, unless the store cannot tell whether it saved it: then the run closes.
 */
export class Saver {
  readonly #id: string;
  readonly #store: CheckpointStore;
  readonly #state: Checkpoint;
  readonly #strategy: SaveStrategy;
  readonly #now: () => Date;
  readonly #assertOpen: () => void;
  readonly #release: () => Promise<void>;
  readonly #worker: string | null;
  #buffer: Change[] = [];
  #since: { changes: number; units: number; items: number; pages: number; at: number };
  /** A moving average of how long the store's flushes take, for the save strategy. */
  #flushMs: number | null = null;
  #rateLimit: RateLimitInfo | null = null;
  #flushing: Promise<void> = Promise.resolve();
  /** The flush queued to run next, not started yet: later flush requests join it (group commit). */
  #next: Promise<void> | null = null;
  /** The reason {@link Saver.#next} will record: its first caller's, or a run's last save's. */
  #nextReason = '';
  /** Set while a store transaction is open. */
  #open: OpenTransaction | null = null;
  /**
   * Set when the store could not tell whether it saved (`outcomeUnknown`): the run closed and
   * dropped its buffer, also the changes of callers waiting for the next flush, which then saves
   * nothing and must reject rather than tell them their changes were saved.
   */
  #unknown: { error: unknown } | null = null;
  readonly #scope: TransactionScope | null = createTransactionScope();

  constructor(init: SaverInit) {
    this.#id = init.id;
    this.#store = init.store;
    this.#state = init.state;
    this.#strategy = init.strategy;
    this.#now = init.now;
    this.#assertOpen = init.assertOpen;
    this.#release = init.release;
    this.#worker = init.worker ?? null;
    this.#since = { changes: 0, units: 0, items: 0, pages: 0, at: this.#now().getTime() };
  }

  /** Changes recorded but not yet acknowledged by the store. */
  get unsaved(): number {
    return this.#buffer.length;
  }

  /**
   * Applies a change to the live state and buffers it (the run checked that it may record).
   * While a transaction is open, a change recorded by its own work goes into it; one recorded by
   * other work (another unit) goes to the buffer as usual. Both are remembered by the undo log,
   * so that a transaction that fails can take back its own changes and keep the others.
   */
  record(change: Change): void {
    const open = this.#open;
    if (open) {
      open.undo.before(this.#state, change);
      applyChange(this.#state, change);
      const own = this.#scope === null || this.#scope.current() === open.token;
      if (own) open.own.push(change);
      else {
        open.others.push(change);
        this.#buffer.push(change);
      }
    } else {
      applyChange(this.#state, change);
      this.#buffer.push(change);
    }
    this.#since.changes += 1;
  }

  /** Counts a settled unit (completed or failed) for the save strategy. */
  countUnit(): void {
    this.#since.units += 1;
  }

  /** Counts a page (a `run.progress`) for the save strategy. */
  countPage(): void {
    this.#since.pages += 1;
  }

  /** Counts processed items for the save strategy. */
  countItems(items: number): void {
    this.#since.items += items;
  }

  /** Keeps the latest rate limit for the save strategy. */
  reportRateLimit(rateLimit: RateLimitInfo): void {
    this.#rateLimit = rateLimit;
  }

  /** Drops what was not flushed, as a crash would. */
  drop(): void {
    this.#buffer = [];
  }

  /** Flushes when the save strategy says so. */
  async maybeSave(): Promise<void> {
    // While a transaction is open, saving waits for it (flushes and transactions take turns).
    if (this.#buffer.length === 0 || this.#open) return;
    const decision = this.#strategy.decide(this.#saveContext());
    if (decision.save) await this.flush(decision.reason);
  }

  /**
   * Saves what is buffered now, after the flushes and transactions before it. Group commit: a
   * request made while another flush is saving joins the next flush, which starts once that one
   * is done and every caller it released had a turn to record its next change, so the changes of
   * many units in flight share one store write (one fdatasync) instead of queueing one each.
   * Each caller's promise still resolves only once its change is saved. `last`: the run's last
   * save (a signal, close, finish), whose reason the flush records even when it joins one queued
   * for a page, so that the checkpoint says why the run stopped.
   */
  flush(reason: string, { last = false }: { last?: boolean } = {}): Promise<void> {
    const inside = this.#insideOwnTransaction('run.flush()');
    if (inside) return Promise.reject(inside);
    if (this.#next) {
      if (last) this.#nextReason = reason;
      return this.#next;
    }
    this.#nextReason = reason;
    const next = this.#flushing.then(turn).then(() => {
      this.#next = null;
      return this.#flushNow(this.#nextReason);
    });
    this.#next = next;
    // A failed flush must not poison the ones after it; its callers still see its error.
    this.#flushing = next.catch(() => {});
    return next;
  }

  /** Runs `work` in a store transaction that commits the buffered changes: see `Run.transaction`. */
  transaction<T>(work: (client: unknown) => Promise<T>, reason: string): Promise<T> {
    const inside = this.#insideOwnTransaction('run.transaction()');
    if (inside) return Promise.reject(inside);
    const next = this.#flushing.then(() => this.#transactionNow(work, reason));
    this.#flushing = next.then(
      () => {},
      () => {},
    );
    return next;
  }

  /**
   * The error for a flush or transaction asked for by the work of the open transaction (a
   * transactional sink's write): it would queue behind that transaction, which waits for the
   * work, which waits for it, forever. Undefined elsewhere, or where no scope can tell.
   */
  #insideOwnTransaction(what: string): CheckpointError | undefined {
    const open = this.#open;
    if (!open || this.#scope === null || this.#scope.current() !== open.token) return undefined;
    return new CheckpointError(
      `${what} was called inside run.transaction() of checkpoint "${this.#id}" (a transactional sink's write): ` +
        'it would wait for that transaction, which waits for it; the transaction commits what the run recorded itself',
    );
  }

  /** Weighs the latest flush at 30%: one slow fsync does not stop saving every page. */
  #timeFlush(ms: number): void {
    this.#flushMs = this.#flushMs === null ? ms : this.#flushMs * 0.7 + ms * 0.3;
  }

  #takeBack(open: OpenTransaction): void {
    takeBack(this.#state, open);
  }

  #at(): string {
    return this.#now().toISOString();
  }

  #saveContext(): SaveContext {
    return {
      changes: this.#since.changes,
      units: this.#since.units,
      items: this.#since.items,
      elapsedMs: this.#now().getTime() - this.#since.at,
      rateLimit: this.#rateLimit,
      pages: this.#since.pages,
      flushMs: this.#flushMs,
    };
  }

  async #flushNow(reason: string): Promise<void> {
    if (this.#unknown) throw this.#unknown.error;
    if (this.#buffer.length === 0) return;
    const changes = this.#buffer;
    const saved: Change = { type: 'saved', at: this.#at(), reason };
    this.#buffer = [];
    const since = this.#since;
    this.#since = { changes: 0, units: 0, items: 0, pages: 0, at: this.#now().getTime() };
    const rateLimit = this.#rateLimit;
    this.#rateLimit = null;
    const started = performance.now();
    try {
      await this.#store.append(this.#id, [...changes, saved]);
      this.#timeFlush(performance.now() - started);
    } catch (error) {
      // Not acknowledged: keep everything for the next flush, in order.
      this.#buffer = [...changes, ...this.#buffer];
      this.#since = {
        changes: since.changes + this.#since.changes,
        units: since.units + this.#since.units,
        items: since.items + this.#since.items,
        pages: since.pages + this.#since.pages,
        at: since.at,
      };
      this.#rateLimit ??= rateLimit;
      if (isOutcomeUnknown(error)) {
        // The store cannot tell whether it saved them: saving them again could apply them twice.
        // The run stops here; reopening it loads what the store holds.
        this.#buffer = [];
        this.#unknown = { error };
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
    const open: OpenTransaction = {
      token: {},
      undo: new UndoLog(this.#state),
      own: [],
      others: [],
    };
    this.#open = open;
    try {
      let tries = 0;
      const { value, saved } = await store.transaction(this.#id, async (tx) => {
        // A store may run `work` again when a try did not commit (its connection broke): take
        // back what the failed try recorded first, as if it had never run.
        if (tries++ > 0) this.#takeBack(open);
        const run = () => work(tx.client);
        const value = await (this.#scope ? this.#scope.run(open.token, run) : run());
        const saved: Change = { type: 'saved', at: this.#at(), reason };
        const appended = await tx.append([...before, ...open.own, saved]);
        // Worker mode: the work was on a unit another worker holds now. What it wrote in this
        // transaction (a sink's rows) must not commit: throwing rolls the transaction back.
        const stale = new Set(appended?.stale);
        for (const change of open.own) {
          if ('key' in change && stale.has(change.key))
            throw new UnitTakenOverError(this.#id, change.key, this.#worker ?? 'this worker');
        }
        return { value, saved };
      });
      this.#open = null;
      applyChange(this.#state, saved);
      // What other work recorded meanwhile is still buffered, for the next save.
      this.#since = {
        changes: this.#buffer.length,
        units: 0,
        items: 0,
        pages: 0,
        at: this.#now().getTime(),
      };
      return value;
    } catch (error) {
      this.#open = null;
      this.#takeBack(open);
      // What was buffered before is still to save, ahead of what other work recorded meanwhile.
      this.#buffer = [...before, ...this.#buffer];
      this.#since = { ...since, changes: since.changes + this.#buffer.length - before.length };
      this.#rateLimit ??= rateLimit;
      if (isOutcomeUnknown(error)) {
        // The store cannot tell whether it committed: this run's state can no longer be trusted.
        this.#buffer = [];
        this.#unknown = { error };
        await this.#release();
      }
      throw error;
    }
  }
}

/**
 * Takes back a transaction's own changes from the live state: every part any change touched
 * since it opened goes back to what it was, then the changes other work recorded meanwhile
 * (still buffered) are applied again, in order. Leaves `open` ready for another try.
 */
function takeBack(state: Checkpoint, open: OpenTransaction): void {
  open.undo.restore(state);
  for (const change of open.others) applyChange(state, change);
  open.undo = new UndoLog(state);
  open.own = [];
  open.others = [];
}

/** A store transaction in progress: whose changes are its own, and how to take them back. */
interface OpenTransaction {
  /** Marks the transaction's work in the {@link TransactionScope}. */
  token: object;
  undo: UndoLog;
  /** Changes recorded by the transaction's work: committed with it, or taken back. */
  own: Change[];
  /** Changes other work recorded while it was open: buffered, and kept either way. */
  others: Change[];
}

function isOutcomeUnknown(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { outcomeUnknown?: unknown }).outcomeUnknown === true
  );
}

/** Lets the callers a flush just released record their next changes before the next one starts. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
