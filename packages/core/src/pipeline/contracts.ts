import type { Json } from '../model/schema.js';
import type { Run } from '../run/run.js';
import type { IdMapping } from '../run/types.js';
import type { RateLimitInfo } from '../strategies/index.js';

/** A unit a source offers: its key path, and its size when known. */
export interface UnitPlan {
  key: string;
  total?: number | null;
}

/** One page a source read: its items, and the cursor to continue from after it. */
export interface Page<Item> {
  items: readonly Item[];
  /** Where the next read of this unit starts; stored only after the sink accepted the page. */
  cursor: Json;
  /** The unit's total, when the source learns it (a last-page link, an API count). */
  total?: number | null;
  rateLimit?: RateLimitInfo;
}

export interface SourceContext {
  run: Run;
  signal: AbortSignal;
}

/** A unit to read, with the cursor it stopped at (null when it starts fresh). */
export interface UnitRead {
  key: string;
  cursor: Json;
}

/**
 * Where items come from. A source names its units and reads one unit from a cursor, page by page.
 * Throw {@link UnitError} with `retryable: false` for failures that retrying will not fix.
 */
export interface Source<Item> {
  units(context: SourceContext): Iterable<UnitPlan> | AsyncIterable<UnitPlan>;
  read(unit: UnitRead, signal: AbortSignal): AsyncIterable<Page<Item>>;
}

export interface SinkContext {
  unit: string;
  run: Run;
  signal: AbortSignal;
  /**
   * For a {@link Sink.transactional} sink: the store's handle on the transaction that also commits
   * this page's cursor (a `pg` client for PostgreSQL). Undefined for other sinks.
   */
  transaction?: unknown;
}

/**
 * What a sink may return for a page: nothing, or the id mappings it created, and `meta`: entries of
 * the checkpoint's user metadata (such as the byte offset its file reached) that the pipeline
 * records with the page's cursor, in the same flush, so that a resume sees both or neither.
 */
export type SinkResult =
  // biome-ignore lint/suspicious/noConfusingVoidType: lets `async (items) => { ... }` be a sink.
  void | undefined | { idMappings?: readonly IdMapping[]; meta?: Readonly<Record<string, Json>> };

/** What {@link Sink.open} gets: the run, whose checkpoint holds what the sink's pages recorded. */
export interface SinkOpenContext {
  run: Run;
  signal: AbortSignal;
}

/** Where items go. A page counts as done only when `write` resolves. */
export interface Sink<Item> {
  /**
   * True when `write` writes through `context.transaction` into the store's own database: the
   * pipeline then runs each write in `run.transaction`, so a page's rows and its cursor commit
   * together (exactly-once). Needs a store with transactions.
   */
  readonly transactional?: boolean;
  /**
   * Called once by `pipeline()` before the first page is written: a sink that records its own
   * state with the pages (`meta` in {@link SinkResult}) reads it back from `context.run` here and
   * undoes what no flush acknowledged (a file cut back to the recorded offset).
   */
  open?(context: SinkOpenContext): Promise<void> | void;
  write(items: readonly Item[], context: SinkContext): Promise<SinkResult> | SinkResult;
  /** Called once when the pipeline ends (also on abort), to flush the sink's own buffers. */
  close?(): Promise<void> | void;
}
