/**
 * How many records `pageNumber` has read, for an API that states a total of records but not its
 * page size. Without this count, reading page × records on the page for the records read never
 * reached the total on a short last page: the list ended only on an empty page, and an API that
 * answers past its last page with a 404 (Django REST Framework) failed the unit.
 *
 * The count lives in memory, keyed by the next page's URL: a cursor stays a plain URL, as every
 * checkpoint already holds it. A read resumed mid-list has no count; it takes the pages before as
 * full as the largest page it has seen (every page but the last is full), which is exact from its
 * second page on; only its first page may leave it unable to tell, and then a 404 for the page
 * after one that may have been the last ends the list.
 */

/** What is known of the pages before a page. */
interface Before {
  /** Records read on the pages before, when counted from the first page; else unknown. */
  read: number | undefined;
  /** The most records a page before had: a floor for the API's page size. */
  largest: number;
}

/** Counts kept at most: a read abandoned mid-list (a unit failed) leaves its entry behind. */
const MAX_KEPT = 10_000;

export class PageCounts {
  readonly #before = new Map<string, Before>();
  /** Next pages asked while the page before may have been the last. */
  readonly #maybePastLast = new Set<string>();

  /** What is known of the pages before `url`, forgotten once read (a page is read once). */
  take(url: URL): Before | undefined {
    const before = this.#before.get(url.href);
    this.#before.delete(url.href);
    this.#maybePastLast.delete(url.href);
    return before;
  }

  /**
   * `next`, or `null` when the records read reach `total`. `done` is the page's place in the list
   * (1 for the first), `got` its records, `before` what {@link take} returned for it.
   */
  follow(next: URL, done: number, got: number, total: number, before?: Before): URL | null {
    const largest = Math.max(got, before?.largest ?? 0);
    const read = before?.read !== undefined ? before.read + got : done === 1 ? got : undefined;
    if (read !== undefined) {
      if (read >= total) return null;
      this.#keep(next, { read, largest });
      return next;
    }
    // Resumed mid-list: at least this many were read, as every page before is at least as full
    // as the largest seen (a page shorter than the API's size is its last).
    if (done < 2) return next; // a page number below `start`: nothing to count from.
    if ((done - 1) * largest + got >= total) return null;
    // This page is the last if some page size of at least `largest` puts its end at the total:
    // then the next page is past the end, and may be a 404.
    const size = (total - got) / (done - 1);
    if (Number.isInteger(size) && size >= largest) {
      if (this.#maybePastLast.size >= MAX_KEPT) this.#maybePastLast.clear();
      this.#maybePastLast.add(next.href);
    }
    this.#keep(next, { read: undefined, largest });
    return next;
  }

  /** Whether the page before `url` may have been the last (see {@link follow}); asked once. */
  mayBePastLast(url: URL): boolean {
    const maybe = this.#maybePastLast.has(url.href);
    this.take(url);
    return maybe;
  }

  #keep(next: URL, before: Before): void {
    if (this.#before.size >= MAX_KEPT) {
      // The oldest entry: losing it only leaves that read counting as a resumed one.
      const oldest = this.#before.keys().next().value;
      if (oldest !== undefined) this.#before.delete(oldest);
    }
    this.#before.set(next.href, before);
  }
}
