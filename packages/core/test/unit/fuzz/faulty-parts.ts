/**
 * Parts for the seeded fault-injection test of `pipeline()`: a job shape, a fault plan, and a
 * store, source and sink that fail where the plan says. One process is an {@link Incarnation}: a
 * crash marks it dead and abandons its run (what it did not flush is gone), and from then on its
 * store, source and sink refuse everything, as a dead process does nothing more.
 */
import {
  AuthenticationError,
  type Change,
  type CheckpointStore,
  type Json,
  type Run,
  type Sink,
  type Source,
  UnitError,
} from '../../../src/index.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What the job reads: items per page of each unit; `discover` plans `found/i` on its page i. */
export interface Shape {
  units: Map<string, number[]>;
  /** Keys planned at the start; the others are planned by `discover` while it reads. */
  initial: string[];
}

export function shapeOf(rand: () => number): Shape {
  const units = new Map<string, number[]>();
  const pages = () =>
    Array.from({ length: Math.floor(rand() * 5) }, () => 1 + Math.floor(rand() * 3));
  const initial: string[] = [];
  for (let i = 0; i < 2 + Math.floor(rand() * 4); i++) {
    units.set(`u${i}`, pages());
    initial.push(`u${i}`);
  }
  const children = 1 + Math.floor(rand() * 3);
  units.set(
    'discover',
    Array.from({ length: children }, () => 1),
  );
  initial.push('discover');
  for (let i = 0; i < children; i++) units.set(`found/${i}`, pages());
  return { units, initial };
}

/** The items of a unit's page: unique over the job, so a duplicate or a loss shows. */
export const itemsOf = (shape: Shape, key: string, page: number): string[] =>
  Array.from({ length: shape.units.get(key)![page]! }, (_, i) => `${key}:${page}:${i}`);

/** Every item of a unit's first `pages` pages, in order. */
export const prefixOf = (shape: Shape, key: string, pages: number): string[] =>
  Array.from({ length: pages }, (_, p) => itemsOf(shape, key, p)).flat();

/** Keys of odd length keep an object cursor (which the run copies when it records it), the others a number. */
export const cursorOf = (key: string, next: number): Json =>
  key.length % 2 === 1 ? { next } : next;
export const pagesRead = (cursor: Json): number =>
  cursor === null ? 0 : typeof cursor === 'number' ? cursor : (cursor as { next: number }).next;

/** Decides, from the seed, where a fault strikes; at most `budget` of them, then none. */
export class Faults {
  readonly log: string[] = [];
  round = 0;
  constructor(
    readonly rand: () => number,
    private budget: number,
    private readonly chance: number,
  ) {}

  /** Waits 0 to 2 turns of the event loop, as I/O takes varying time: interleavings vary. */
  async delay(): Promise<void> {
    for (let turns = Math.floor(this.rand() * 3); turns > 0; turns--) await tick();
  }

  /** The fault that strikes at `point` now, or null. */
  pick<K extends string>(point: string, kinds: readonly K[]): K | null {
    if (this.budget <= 0 || this.rand() >= this.chance) return null;
    this.budget -= 1;
    const kind = kinds[Math.floor(this.rand() * kinds.length)] as K;
    this.log.push(`round ${this.round}: ${point} ${kind}`);
    return kind;
  }
}

/** One process: its run, and whether it died. */
export class Incarnation {
  dead = false;
  run: Run | undefined;
  readonly abort = new AbortController();
  /** The process dies: nothing more of it runs, and what its run did not flush is gone. */
  crash(): never {
    if (!this.dead) {
      this.dead = true;
      void this.run?.abandon();
    }
    throw this.gone();
  }
  /** What a dead process's parts throw: run-fatal, so a pipeline still running stops at once. */
  gone(): Error {
    return Object.assign(new Error('the process died'), { storeUnavailable: true });
  }
  assertAlive(): void {
    if (this.dead) throw this.gone();
  }
}

const APPEND_FAULTS = [
  'throws before writing',
  'unavailable before writing',
  'outcome unknown, not written',
  'outcome unknown, written',
  'crash before writing',
  'crash after writing',
] as const;

const COMMIT_FAULTS = [
  'connection broke, work again',
  'throws before committing',
  'outcome unknown, not committed',
  'outcome unknown, committed',
  'crash before committing',
  'crash after committing',
] as const;

/** What a transactional sink writes through: rows of a unit, committed with the transaction. */
export interface Rows {
  /** Where the unit's next row goes once the transaction commits. */
  next(unit: string): number;
  insert(unit: string, items: readonly string[]): void;
}

const unknown = () =>
  Object.assign(new Error('connection lost during commit'), { outcomeUnknown: true });

/**
 * A store over `inner` that fails appends (and loads) where the fault plan says. With `tables`
 * it has transactions, like PostgreSQL: rows a sink inserts through `tx.client` reach `tables`
 * when, and only when, the transaction's changes reach `inner`.
 */
export function faultyStore(
  inner: CheckpointStore,
  process: Incarnation,
  faults: Faults,
  tables?: Map<string, string[]>,
): CheckpointStore {
  const transaction: CheckpointStore['transaction'] = async (id, work) => {
    for (let tries = 1; ; tries++) {
      process.assertAlive();
      const staged: Change[] = [];
      const rows = new Map<string, string[]>();
      const client: Rows = {
        next: (unit) => (tables!.get(unit)?.length ?? 0) + (rows.get(unit)?.length ?? 0),
        insert: (unit, items) => void rows.set(unit, [...(rows.get(unit) ?? []), ...items]),
      };
      const value = await work({ client, append: async (changes) => void staged.push(...changes) });
      await faults.delay();
      process.assertAlive();
      const fault = faults.pick('store.commit', COMMIT_FAULTS);
      // A store tries again only when it knows that nothing was committed.
      if (fault === 'connection broke, work again' && tries < 3) continue;
      if (fault === 'throws before committing') throw new Error('serialization failure');
      if (fault === 'outcome unknown, not committed') throw unknown();
      if (fault === 'crash before committing') process.crash();
      await inner.append(id, staged);
      for (const [unit, items] of rows) tables!.set(unit, [...(tables!.get(unit) ?? []), ...items]);
      if (fault === 'outcome unknown, committed') throw unknown();
      if (fault === 'crash after committing') process.crash();
      return value;
    }
  };
  return {
    ...inner,
    ...(tables && { transaction }),
    async load(id) {
      process.assertAlive();
      if (faults.pick('store.load', ['throws'])) throw new Error('store not reachable');
      return inner.load(id);
    },
    async append(id, changes) {
      process.assertAlive();
      // A write takes a while (an fsync): units in flight record changes meanwhile.
      await faults.delay();
      const fault = faults.pick('store.append', APPEND_FAULTS);
      if (fault === 'throws before writing') throw new Error('EIO: nothing written');
      if (fault === 'unavailable before writing') {
        throw Object.assign(new Error('gave up reaching the store'), { storeUnavailable: true });
      }
      if (fault === 'outcome unknown, not written') throw unknown();
      if (fault === 'crash before writing') process.crash();
      await inner.append(id, changes);
      if (fault === 'outcome unknown, written') throw unknown();
      if (fault === 'crash after writing') process.crash();
    },
    async compact(id) {
      process.assertAlive();
      return inner.compact(id);
    },
    async lock(id) {
      process.assertAlive();
      return inner.lock(id);
    },
  };
}

const PAGE_FAULTS = ['retryable', 'not retryable', 'credentials', 'crash', 'abort'] as const;

/** The job's source, reading `shape`; fails pages where the fault plan says. */
export function faultySource(shape: Shape, process: Incarnation, faults: Faults): Source<string> {
  let run: Run | undefined;
  return {
    units(context) {
      run = context.run;
      process.assertAlive();
      if (faults.pick('source.units', ['throws'])) throw new Error('listing failed');
      return shape.initial.map((key) => ({ key }));
    },
    async *read({ key, cursor }) {
      const pages = shape.units.get(key)!;
      for (let page = pagesRead(cursor); page < pages.length; page++) {
        await faults.delay();
        process.assertAlive();
        const fault = faults.pick('source.read', PAGE_FAULTS);
        if (fault === 'retryable') throw new Error(`HTTP 503 on ${key} page ${page}`);
        if (fault === 'not retryable') {
          throw new UnitError(`HTTP 404 on ${key} page ${page}`, { retryable: false });
        }
        if (fault === 'credentials') throw new AuthenticationError('API', '401', 'fix the token');
        if (fault === 'crash') process.crash();
        if (fault === 'abort') process.abort.abort();
        // A discovery page plans a unit before it is accepted: planned again when redone.
        if (key === 'discover') await run?.plan([`found/${page}`]);
        yield { items: itemsOf(shape, key, page), cursor: cursorOf(key, page + 1) };
      }
    },
  };
}

const WRITE_FAULTS = [
  'throws before writing',
  'throws after writing',
  'torn write',
  'crash before writing',
  'crash after writing',
] as const;

/**
 * The job's sink: one "file" per unit in `files`, which outlives every process. Exactly-once
 * (`exactlyOnce`): each page returns its file's length as `meta` and its items' lines as id
 * mappings, and `open` cuts every file back to the length the checkpoint holds. Otherwise a plain
 * append-only sink: at-least-once.
 */
export function faultySink(
  files: Map<string, string[]>,
  exactlyOnce: boolean,
  process: Incarnation,
  faults: Faults,
): Sink<string> {
  const fileOf = (key: string) => {
    const file = files.get(key) ?? [];
    files.set(key, file);
    return file;
  };
  return {
    open: exactlyOnce
      ? ({ run }) => {
          process.assertAlive();
          if (faults.pick('sink.open', ['throws'])) throw new Error('output not writable');
          for (const [key, file] of files) {
            const length = run.checkpoint.meta.user[`sink:${key}`];
            file.length = typeof length === 'number' ? length : 0;
          }
        }
      : undefined,
    async write(items, { unit }) {
      process.assertAlive();
      const fault = faults.pick('sink.write', WRITE_FAULTS);
      if (fault === 'throws before writing') throw new Error('EACCES: nothing written');
      if (fault === 'crash before writing') process.crash();
      const file = fileOf(unit);
      const start = file.length;
      if (fault === 'torn write') {
        file.push(...items.slice(0, Math.ceil(items.length / 2)));
        throw new Error('ENOSPC: part of the page written');
      }
      file.push(...items);
      if (fault === 'throws after writing') throw new Error('fsync failed after the write');
      if (fault === 'crash after writing') process.crash();
      if (!exactlyOnce) return undefined;
      return {
        meta: { [`sink:${unit}`]: file.length },
        idMappings: items.map((item, i) => ({ map: 'out', source: item, target: start + i })),
      };
    },
    close() {
      if (process.dead) return;
      if (faults.pick('sink.close', ['throws'])) throw new Error('close failed');
    },
  };
}

/**
 * A transactional sink: inserts each page's items through the store's transaction, which commits
 * them with the page's cursor and its id mappings (each item to its row), as a sink writing into
 * the PostgreSQL store's database does. Exactly-once with no state of its own.
 */
export function transactionalSink(process: Incarnation, faults: Faults): Sink<string> {
  return {
    transactional: true,
    async write(items, { unit, transaction }) {
      process.assertAlive();
      const rows = transaction as Rows;
      const fault = faults.pick('sink.write', ['throws before writing', 'throws after writing']);
      if (fault === 'throws before writing') throw new Error('insert refused');
      const start = rows.next(unit);
      rows.insert(unit, items);
      if (fault === 'throws after writing') throw new Error('constraint violated after insert');
      return {
        idMappings: items.map((item, i) => ({ map: 'out', source: item, target: start + i })),
      };
    },
  };
}
