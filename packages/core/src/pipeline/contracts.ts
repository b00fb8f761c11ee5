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

/** What a sink may return for a page: nothing, or the id mappings it created. */
// biome-ignore lint/suspicious/noConfusingVoidType: lets `async (items) => { ... }` be a sink.
export type SinkResult = void | undefined | { idMappings?: readonly IdMapping[] };

/** Where items go. A page counts as done only when `write` resolves. */
export interface Sink<Item> {
  /**
   * True when `write` writes through `context.transaction` into the store's own database: the
   * pipeline then runs each write in `run.transaction`, so a page's rows and its cursor commit
   * together (exactly-once). Needs a store with transactions.
   */
  readonly transactional?: boolean;
  write(items: readonly Item[], context: SinkContext): Promise<SinkResult> | SinkResult;
  /** Called once when the pipeline ends (also on abort), to flush the sink's own buffers. */
  close?(): Promise<void> | void;
}
