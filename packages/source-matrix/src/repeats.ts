/** How many recent pages' event ids are kept to catch a server that sends events again. */
const RECENT_PAGES = 16;

/**
 * The event ids of the last pages of a read, to drop events a server sends again. A server that
 * answers a token with the page it answered before, under a token it never gave out (a stuck
 * stream position, a cache), was otherwise read forever: each page had events, so it was never
 * an empty page, and each went out again. Bounded: ids of the last {@link RECENT_PAGES} pages.
 */
export class RecentEvents {
  readonly #pages: Set<string>[] = [];
  /**
   * A hash of every event id of the read, to catch a loop longer than the recent pages: a server
   * whose tokens lead back into history already read, each time under tokens never seen, sent the
   * room again lap after lap, every event going out again on each. A 53-bit number per event
   * (some MiB for a million), not the id itself; a collision only fails the room, loudly.
   */
  readonly #all = new Set<number>();
  #count = 0;

  /**
   * The events of `chunk` not seen on a recent page (events without an id stay, for the fold to
   * report), and how many of them are new: events with an id not seen before. `looped`: the
   * first event read before the recent pages, with the number of pages since the read began.
   */
  sift(chunk: readonly unknown[]): {
    events: unknown[];
    fresh: number;
    repeated: number;
    looped: { eventId: string; pages: number } | null;
  } {
    const ids = new Set<string>();
    const events: unknown[] = [];
    let repeated = 0;
    let looped: { eventId: string; pages: number } | null = null;
    for (const event of chunk) {
      const id = idOf(event);
      if (id !== null && this.#pages.some((page) => page.has(id))) {
        repeated += 1;
        continue;
      }
      if (id !== null && !ids.has(id)) {
        const hash = cyrb53(id);
        if (this.#all.has(hash)) looped ??= { eventId: id, pages: this.#count };
        this.#all.add(hash);
        ids.add(id);
      }
      events.push(event);
    }
    this.#pages.push(ids);
    this.#count += 1;
    if (this.#pages.length > RECENT_PAGES) this.#pages.shift();
    return { events, fresh: ids.size, repeated, looped };
  }
}

/** cyrb53 (public domain): a fast 53-bit string hash. */
function cyrb53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** An event's `event_id` when it is a string, else null. */
export function idOf(event: unknown): string | null {
  const id =
    typeof event === 'object' && event !== null
      ? (event as { event_id?: unknown }).event_id
      : undefined;
  return typeof id === 'string' ? id : null;
}
