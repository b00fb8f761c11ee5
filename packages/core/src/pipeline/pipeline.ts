import {
  AuthenticationError,
  type ContractError,
  errorMessage,
  isRetryable,
  isRunFatal,
  OptionsError,
  UnitTakenOverError,
} from '../errors.js';
import { type FailureReport, failuresOf } from '../model/failures.js';
import type { FailureCause } from '../model/schema.js';
import type { CheckpointSummary } from '../model/summary.js';
import { checkOptions, PipelineOptionsSchema } from '../options.js';
import { failureCauseOf } from '../run/failure.js';
import type { Run } from '../run/run.js';
import type { PendingOptions, ProgressUpdate } from '../run/types.js';
import { checkPage, checkPlan, checkSinkResult, checkTransformed } from './checks.js';
import type { Page, Sink, SinkResult, Source, UnitPlan } from './contracts.js';

export interface TransformContext {
  unit: string;
  run: Run;
}

export interface PipelineOptions<In, Out> {
  run: Run;
  source: Source<In>;
  sink: Sink<Out>;
  /** Maps a page's items before the sink sees them (may look up id maps through `run`). */
  transform?: (
    items: readonly In[],
    context: TransformContext,
  ) => readonly Out[] | Promise<readonly Out[]>;
  /** Units worked on at once. Default 1. */
  concurrency?: number;
  /**
   * Which failed units to retry: `true` every one, `'retryable'` (the default) only those whose
   * error is retryable, `false` none. Anything else is refused with an {@link OptionsError}.
   */
  retryFailed?: PendingOptions['retryFailed'];
  /**
   * Progress events, for bars and logs. An error it throws (or an async one rejects with) stops
   * the pipeline, which saves what the units did and rejects with it; no unit is failed for it.
   */
  onProgress?: (event: PipelineEvent) => void;
  /** Stops the pipeline after the page in flight, with everything flushed. */
  signal?: AbortSignal;
  /** Worker mode (`openRun({ worker })`): units claimed from the store at once. Default: `concurrency`. */
  claimBatch?: number;
}

export type PipelineEvent =
  | { type: 'planned'; units: number; pending: number; summary: CheckpointSummary }
  | { type: 'unit-started'; key: string }
  | { type: 'page'; key: string; items: number; done: number; total: number | null }
  | { type: 'unit-completed'; key: string; done: number }
  /** Worker mode: the unit was taken over by another worker (see {@link UnitTakenOverError}). */
  | { type: 'unit-taken-over'; key: string }
  | {
      type: 'unit-failed';
      key: string;
      message: string;
      retryable: boolean;
      cause?: FailureCause;
    };

export interface PipelineResult {
  /** Units completed in this call. */
  completed: number;
  /** Units that failed in this call. */
  failed: number;
  pages: number;
  items: number;
  /** True when the signal stopped the pipeline before every unit was done. */
  aborted: boolean;
  summary: CheckpointSummary;
  /**
   * Every failed unit of the checkpoint, also those an earlier call failed and this one left
   * alone: counts, the first errors and how to retry them (print it with `formatFailures`).
   */
  failures: FailureReport;
}

/**
 * Drives a source into a sink under a run: plans the source's units, works on the pending ones,
 * and records a page's cursor (with the id mappings the sink returned) only after the sink
 * accepted the page. One failed unit does not stop the others. The run stays open: call
 * `run.finish()` when you are done.
 *
 * Rejects, after stopping every unit in flight, when the run itself cannot go on (see
 * {@link isRunFatal}: a lost lock, a store that gave up reaching its database, credentials the
 * service refused): no unit is recorded as failed for that, and the next run resumes where this
 * one stopped. On an {@link AuthenticationError} what the other units did is flushed first.
 * Any other error that belongs to no unit (a store error saving a unit's start) stops every unit
 * the same way before it is thrown.
 *
 * A page, transform result or sink result that breaks its contract (items that are not an
 * array, a sink's `meta` that is a string) fails its unit with a {@link ContractError}; a page's
 * is found before the sink sees it.
 *
 * Throws {@link OptionsError} for an option it cannot use (`retryFailed: 'all'`).
 */
export async function pipeline<In, Out = In>(
  options: PipelineOptions<In, Out>,
): Promise<PipelineResult> {
  checkOptions('pipeline', PipelineOptionsSchema, options);
  const { run, source, sink } = options;
  // Two pipelines on one run would both work every pending unit: each page written twice and
  // counted twice in `done`.
  if (driven.has(run)) {
    throw new OptionsError(
      'pipeline',
      'run',
      'is already driven by another pipeline() call; await it before starting the next',
    );
  }
  driven.add(run);
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason ?? run.signal.reason);
  // The run's own signal aborts on SIGINT/SIGTERM: stop after the page in flight.
  for (const outer of [options.signal, run.signal]) {
    if (outer?.aborted) onAbort();
    outer?.addEventListener('abort', onAbort, { once: true });
  }
  const signal = stop.signal;
  const result = { completed: 0, failed: 0, pages: 0, items: 0 };
  let done: PipelineResult;
  const end = async () => {
    driven.delete(run);
    options.signal?.removeEventListener('abort', onAbort);
    run.signal.removeEventListener('abort', onAbort);
    await sink.close?.();
  };
  /** The first error that stopped the run (not a unit): rethrown once the units in flight stop. */
  let fatal: { error: unknown; listener?: true } | undefined;
  const stopWith = (error: unknown, listener?: true): void => {
    if (fatal) return;
    fatal = listener ? { error, listener } : { error };
    stop.abort(error);
  };
  const stopOnFatal = (error: unknown): boolean => {
    if (!fatal && !isRunFatal(error)) return false;
    stopWith(error);
    return true;
  };
  // Called as `emit?.(…)`, which builds no event when nobody listens: at thousands of pages a
  // second, building them showed in profiles. A listener's error (thrown, or an async one's
  // rejection) stops the pipeline with it: failing the unit instead turned a completed unit
  // into a failed one to redo, and a rejection nobody handled ended the process.
  const listener = options.onProgress;
  const listenerFailed = (error: unknown) => stopWith(error, true);
  const emit =
    listener &&
    ((event: PipelineEvent): void => {
      try {
        const returned: unknown = listener(event);
        // One that rejects after pipeline() settled has nobody left to tell: it is ignored.
        if (returned instanceof Promise) returned.catch(listenerFailed);
      } catch (error) {
        listenerFailed(error);
      }
    });

  try {
    const plans: UnitPlan[] = [];
    for await (const plan of source.units({ run, signal })) {
      checkPlan(plan);
      plans.push(plan);
    }
    await run.plan(plans);
    const retryFailed = options.retryFailed ?? 'retryable';
    let keys = run.pending({ retryFailed });
    // Before any page: a sink with state of its own undoes what no flush acknowledged.
    await sink.open?.({ run, signal });
    emit?.({ type: 'planned', units: plans.length, pending: keys.length, summary: run.summary() });

    /** Writes a page and records it; returns its number of items. */
    const writePage = async (key: string, page: Page<In>): Promise<number> => {
      checkPage(key, page);
      // Counted now: a sink may empty the array it is given (`items.splice(0)`).
      const count = page.items.length;
      let items = page.items as unknown as readonly Out[];
      if (options.transform) {
        items = await options.transform(page.items, { unit: key, run });
        checkTransformed(key, items);
      }
      if (!sink.transactional) {
        const written = await sink.write(items, { unit: key, run, signal });
        await run.progress(key, progressOf(key, page, count, written));
        return count;
      }
      // The rows and the page's cursor commit in one store transaction: exactly-once.
      await run.transaction(async (transaction) => {
        const written = await sink.write(items, { unit: key, run, signal, transaction });
        await run.progress(key, progressOf(key, page, count, written));
      }, `Page of ${key}`);
      return count;
    };

    const workUnit = async (key: string, claimed: boolean): Promise<void> => {
      /** Whether `error` says another worker has this unit now: then it is let go, said once. */
      const takenOver = (error: unknown): boolean => {
        if (!(error instanceof UnitTakenOverError && error.key === key)) return false;
        emit?.({ type: 'unit-taken-over', key });
        return true;
      };
      // A claim has recorded the start already.
      if (!claimed) {
        try {
          await run.start(key);
        } catch (error) {
          if (stopOnFatal(error)) return;
          throw error;
        }
      }
      emit?.({ type: 'unit-started', key });
      try {
        const cursor = run.unit(key)?.cursor ?? null;
        for await (const page of source.read({ key, cursor }, signal)) {
          if (signal.aborted) return;
          const items = await writePage(key, page);
          result.pages += 1;
          result.items += items;
          emit?.({
            type: 'page',
            key,
            items,
            done: run.unit(key)?.done ?? 0,
            total: run.unit(key)?.total ?? null,
          });
          // Stopped after the page in flight: reading another page would only be thrown away.
          if (signal.aborted) return;
        }
        if (signal.aborted) return;
        await run.complete(key);
        result.completed += 1;
        emit?.({ type: 'unit-completed', key, done: run.unit(key)?.done ?? 0 });
      } catch (error) {
        if (stopOnFatal(error)) return;
        // A source that ends its read because we aborted is stopping, not failing.
        if (signal.aborted) return;
        // Worker mode: this worker's lease on the unit expired and another worker has it now.
        // Its page was not saved; the unit is not this worker's to fail either.
        if (takenOver(error)) return;
        const retryable = isRetryable(error);
        try {
          await run.fail(key, error, { retryable });
        } catch (failing) {
          if (stopOnFatal(failing) || takenOver(failing)) return;
          throw failing;
        }
        result.failed += 1;
        const cause = failureCauseOf(error);
        const message = errorMessage(error);
        emit?.({ type: 'unit-failed', key, message, retryable, ...(cause && { cause }) });
      }
    };
    // What no unit can own (a store error recording a unit's start or failure) stops every unit,
    // as a run-fatal error does: rejecting at once would leave the other units writing to a
    // sink that `close()` was called on.
    const work = (key: string, claimed = false): Promise<void> =>
      workUnit(key, claimed).catch(stopWith);

    const concurrency = options.concurrency ?? 1;
    if (run.worker) {
      await workClaims(
        run,
        run.worker.leaseMs,
        options.claimBatch ?? concurrency,
        retryFailed,
        signal,
        (keys) => forEachConcurrently(keys, concurrency, signal, (key) => work(key, true)),
      );
      keys = [];
    }
    // A source may plan more units while it reads (a discovery unit listing an org's repos):
    // work on those too, until a batch plans nothing new. Each unit is tried once per call.
    const tried = new Set<string>();
    while (keys.length > 0 && !signal.aborted) {
      for (const key of keys) tried.add(key);
      await forEachConcurrently(keys, options.concurrency ?? 1, signal, work);
      keys = run.pending({ retryFailed }).filter((key) => !tried.has(key));
      if (keys.length > 0) {
        const units = Object.keys(run.checkpoint.units).length;
        emit?.({ type: 'planned', units, pending: keys.length, summary: run.summary() });
      }
    }
    if (fatal?.error instanceof AuthenticationError) {
      // The store is fine: keep what the other units did, so the next run does not redo it.
      // A flush that fails keeps its changes buffered; the credentials are what to report.
      await run.flush('Authentication failed').catch(() => {});
    } else if (fatal?.listener) {
      await run.flush('Pipeline stopped').catch(() => {});
    }
    if (fatal) throw fatal.error;
    await run.flush(signal.aborted ? 'Pipeline stopped' : 'Pipeline done');
    done = {
      ...result,
      aborted: signal.aborted,
      summary: run.summary(),
      failures: failuresOf(run.checkpoint),
    };
  } catch (error) {
    // The error that stopped the pipeline says more than the sink's failure to close after it.
    await end().catch(() => {});
    throw error;
  }
  await end();
  return done;
}

/** Runs a pipeline() is working on now. */
const driven = new WeakSet<Run>();

/** What a written page records: its cursor and items, and what the source and sink reported. */
function progressOf(
  key: string,
  page: Page<unknown>,
  items: number,
  written: SinkResult,
): ProgressUpdate {
  const update: ProgressUpdate = { cursor: page.cursor, items };
  if (page.total !== undefined) update.total = page.total;
  if (written) checkSinkResult(key, written);
  if (written?.idMappings) update.idMappings = written.idMappings;
  if (written?.meta) update.meta = written.meta;
  if (page.rateLimit) update.rateLimit = page.rateLimit;
  return update;
}

/**
 * Worker mode: claims units from the store and works them, until none is left to claim and no
 * other worker holds one that could come back (a dead worker's units return when its lease
 * expires). Failures recorded after this call started are not claimed again by it.
 */
async function workClaims(
  run: Run,
  leaseMs: number,
  batch: number,
  retryFailed: PendingOptions['retryFailed'],
  signal: AbortSignal,
  workAll: (keys: readonly string[]) => Promise<void>,
): Promise<void> {
  if (!(Number.isInteger(batch) && batch >= 1)) {
    throw new RangeError(`pipeline: claimBatch must be a whole number >= 1, got ${batch}`);
  }
  const failedBefore = new Date().toISOString();
  // Other workers claim from the store: the plan has to be there first.
  await run.flush('Planned');
  while (!signal.aborted) {
    const claim = await run.claim(batch, { retryFailed: retryFailed ?? false, failedBefore });
    if (claim.keys.length > 0) {
      await workAll(claim.keys);
      continue;
    }
    // Units planned while reading reach the store with a flush; then claim again.
    if (run.unsaved > 0) {
      await run.flush('Claiming');
      continue;
    }
    if (claim.leasedElsewhere === 0) return;
    const untilExpiry = claim.nextExpiry ? Date.parse(claim.nextExpiry) - Date.now() : leaseMs;
    // Look again soon: the other workers may finish (then this one is done), or die (then
    // their units come back when their leases expire).
    await pause(Math.max(25, Math.min(untilExpiry + 10, leaseMs / 4, 250)), signal);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  work: (item: T) => Promise<void>,
): Promise<void> {
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`pipeline: concurrency must be a whole number >= 1, got ${concurrency}`);
  }
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
