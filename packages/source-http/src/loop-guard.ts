/** Pages remembered per read of a unit: a loop round more pages than this is not noticed. */
const WINDOW = 1_000;

/** A page that repeats one read before: the one before it, or one earlier. */
export interface Repeat {
  /** The page it repeats (its URL as shown in messages). */
  url: string;
  previous: boolean;
  /** Found by the records' ids from the same URL, their other fields (or order) changed. */
  byId: boolean;
}

/**
 * Notices pagination that goes round, within one read of a unit. A page whose records are the
 * same as an earlier page's (an API that ignores the paginator's parameter, links from B back to
 * A, a next link that only reorders its query) would have its records written again and again;
 * records, not the body, are compared (by a sample, see {@link fingerprint}), so a body that
 * changes on every request (a request id, a timestamp) does not hide the loop. Pages that differ
 * go on, even from the same URL (a queue), unless the same URL answers with the same record ids
 * again (records whose served-at time or order changes, from a cursor that never moves).
 * Empty pages write nothing but would be asked for ever: one whose next page is an empty page
 * already read (itself included) is a loop too.
 */
export class LoopGuard {
  /** Fingerprints of the records of the last {@link WINDOW} pages, to the page they came from. */
  readonly #pages = new Map<string, string>();
  #last: string | undefined;
  /** The URLs (query sorted) of the empty pages read. */
  readonly #empty = new Set<string>();
  /** A page's URL (query sorted) and its records' ids, to the page they came from. */
  readonly #ids = new Map<string, string>();

  /** Remembers a page; returns the page it repeats, if it has records and repeats one. */
  page(url: URL, records: readonly unknown[], shown: string): Repeat | undefined {
    if (records.length === 0) {
      this.#empty.add(normalized(url));
      if (this.#empty.size > WINDOW) this.#empty.delete(this.#empty.values().next().value ?? '');
      this.#last = undefined;
      return undefined;
    }
    const key = fingerprint(records);
    const previous = this.#last === key;
    this.#last = key;
    const earlier = this.#pages.get(key);
    if (earlier !== undefined) return { url: earlier, previous, byId: false };
    this.#pages.set(key, shown);
    if (this.#pages.size > WINDOW) this.#pages.delete(this.#pages.keys().next().value ?? '');
    // A cursor that never moves, over records with a served-at time, a view count or no stable
    // order, differs in every answer: the same URL answering the same ids again is the loop.
    // Only from the same URL: pages of a stats API (`?date=`) may well share their ids.
    const ids = idKey(records);
    if (ids === undefined) return undefined;
    const at = `${normalized(url)}\n${ids}`;
    const same = this.#ids.get(at);
    if (same !== undefined) return { url: same, previous: false, byId: true };
    this.#ids.set(at, shown);
    if (this.#ids.size > WINDOW) this.#ids.delete(this.#ids.keys().next().value ?? '');
    return undefined;
  }

  /** Whether `next` is an empty page already read: asking it again would go round for ever. */
  emptyAlready(next: URL): boolean {
    return this.#empty.has(normalized(next));
  }
}

/**
 * What tells a page's records from another page's: their number and the first, middle and last
 * record. Serializing every record of every page cost a sixth of a collection's time (measured
 * with the bench's 200 pages of 100 records); an API that repeats a page repeats all of these,
 * and two different pages of real records (ids, times) hardly ever share them all. Hashed to 64
 * bits (not sha256: a tenth of the cost), so that a window of big records stays small.
 */
function fingerprint(records: readonly unknown[]): string {
  const n = records.length;
  const sample = JSON.stringify([n, records[0], records[n >> 1], records[n - 1]]);
  return `${stringHash(sample, 0)}:${stringHash(sample, SECOND)}`;
}

/**
 * The records' ids (`id`, else `_id`) as one key, whatever their order; undefined unless every
 * record has one. Their number and two sums of a 32-bit hash of each id (and its type): sorting,
 * serializing and hashing the ids with sha256 took about a tenth of a 200-page collection in the
 * bench. Two different sets of ids from the same URL agree on all three by chance about once in
 * 2^64.
 */
function idKey(records: readonly unknown[]): string | undefined {
  let first = 0;
  let second = 0;
  for (const record of records) {
    if (typeof record !== 'object' || record === null) return undefined;
    const fields = record as Record<string, unknown>;
    const id = Object.hasOwn(fields, 'id') ? fields['id'] : fields['_id'];
    let hash: number;
    if (typeof id === 'number' && Number.isSafeInteger(id))
      hash = mix(mix((id % 0x100000000) >>> 0) ^ Math.floor(id / 0x100000000));
    else if (typeof id === 'number' || typeof id === 'string')
      hash = stringHash(`${typeof id}:${id}`, 0);
    else return undefined;
    first = (first + hash) >>> 0;
    second = (second + mix(hash ^ SECOND)) >>> 0;
  }
  return `${records.length}:${first}:${second}`;
}

/** A seed for a second, independent hash. */
const SECOND = 0x9e3779b9;

/** 32-bit FNV-1a of a string's UTF-16 units, from `seed`, finished with {@link mix}. */
function stringHash(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return mix(hash);
}

/** MurmurHash3's 32-bit finalizer: every input bit moves every output bit. */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A URL with its query sorted and no fragment: `?b=2&a=1` and `?a=1&b=2` are one page. */
function normalized(url: URL): string {
  const copy = new URL(url);
  copy.searchParams.sort();
  copy.hash = '';
  return copy.href;
}
