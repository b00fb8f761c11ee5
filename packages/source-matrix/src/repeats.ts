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
   * The events of `chunk` not seen on a recent page (events without an id stay, for the fold to
   * report), and how many of them are new: events with an id not seen before.
   */
  sift(chunk: readonly unknown[]): { events: unknown[]; fresh: number; repeated: number } {
    const ids = new Set<string>();
    const events: unknown[] = [];
    let repeated = 0;
    for (const event of chunk) {
      const id = idOf(event);
      if (id !== null && this.#pages.some((page) => page.has(id))) {
        repeated += 1;
        continue;
      }
      if (id !== null) ids.add(id);
      events.push(event);
    }
    this.#pages.push(ids);
    if (this.#pages.length > RECENT_PAGES) this.#pages.shift();
    return { events, fresh: ids.size, repeated };
  }
}

function idOf(event: unknown): string | null {
  const id =
    typeof event === 'object' && event !== null
      ? (event as { event_id?: unknown }).event_id
      : undefined;
  return typeof id === 'string' ? id : null;
}
