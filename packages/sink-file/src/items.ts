import { constants } from 'node:buffer';
import { SinkFileItemError, SinkFilePageSizeError } from './errors.js';
import type { PageTarget } from './file-sink.js';
import { isStringLengthError } from './values.js';

/**
 * The longest text a page may have, in UTF-16 code units: V8's string limit, past which joining
 * the page threw a bare `RangeError: Invalid string length`. Test-only: tests lower `maxChars`
 * to run the real check without half a gigabyte of text, and put it back after. Not exported
 * from the package.
 */
export const pageLimits = { maxChars: constants.MAX_STRING_LENGTH };

/**
 * A page's text, built item by item: each item's text is checked against
 * {@link pageLimits}.maxChars before it is appended (a string's length is known without joining),
 * so a page too large for one string fails with a {@link SinkFilePageSizeError} naming its size
 * before anything is built past the limit or written.
 */
export class PageText {
  /** The page's text so far. */
  text: string;
  constructor(
    private readonly target: PageTarget,
    /** How many items the page has. */
    private readonly count: number,
    /** Text before the first item (a CSV header). */
    start = '',
  ) {
    this.text = start;
  }

  /**
   * Appends item `index`'s text, unless the page would pass {@link pageLimits}.maxChars. The
   * encoders call it from their own loop (no closure per item on the hot path) and turn what
   * encoding an item throws into a typed error with {@link PageText.failure}.
   */
  add(index: number, chunk: string): void {
    const chars = this.text.length + chunk.length;
    if (chars > pageLimits.maxChars) {
      const { path, unit } = this.target;
      throw new SinkFilePageSizeError(path, unit, this.count, index, chars, pageLimits.maxChars);
    }
    this.text += chunk;
  }

  /**
   * The error for what encoding item `index` threw: a raw TypeError named neither the file nor
   * the item, and was retried as if the disk had failed.
   */
  failure(index: number, cause: unknown): Error {
    const { path, unit } = this.target;
    // One item whose own text V8 could not make.
    if (isStringLengthError(cause)) {
      return new SinkFilePageSizeError(
        path,
        unit,
        this.count,
        index,
        undefined,
        pageLimits.maxChars,
      );
    }
    return new SinkFileItemError(path, unit, index, cause);
  }
}
