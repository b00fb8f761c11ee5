import type { Sink } from '@checkpointkit/core';
import { type FileSinkOptions, fileSink, type PageEncoder } from './file-sink.js';
import { PageText } from './items.js';
import { ITEMS, jsonText, type Root } from './values.js';

/** Options of {@link jsonLinesSink}. */
export interface JsonLinesSinkOptions<Item> extends FileSinkOptions {
  /**
   * What to write for an item (default: the item itself). It must be JSON: a bigint, a cycle, a
   * function or symbol, NaN or ±Infinity, a Map or Set, or an invalid Date anywhere in it fails
   * the unit with a `SinkFileItemError` naming the field; an undefined property is left out.
   */
  toJson?: (item: Item, unit: string) => unknown;
}

/**
 * Writes each item as one line of JSON, exactly once: a page is appended and fsynced, its byte
 * offset is saved with the page's cursor, and a resumed run cuts the file back to the last saved
 * offset before it writes, so a crash at any moment leaves the file as an uninterrupted run
 * would have written it (see the package README for how several units share a file).
 *
 * @example
 * ```ts
 * await pipeline({ run, source, sink: jsonLinesSink({ path: 'acme.jsonl' }) });
 * // a file per unit:
 * jsonLinesSink({ path: (unit) => `out/${unit}.jsonl` });
 * ```
 */
export function jsonLinesSink<Item>(options: JsonLinesSinkOptions<Item>): Sink<Item> {
  return fileSink<Item>(options, jsonLinesEncoder(options.toJson));
}

/** `toJson(items[3])`: what `toJson` returned for an item. */
const TO_JSON: Root = { field: (index) => `toJson(items[${index}])` };

/**
 * The page encoder of {@link jsonLinesSink}: a line of JSON per item, each checked by
 * {@link jsonText} (a value JSON cannot hold fails the page with a `SinkFileItemError` naming
 * its field), the page's length by {@link PageText}. Internal; exported for the tests.
 */
export function jsonLinesEncoder<Item>(
  toJson: ((item: Item, unit: string) => unknown) | undefined,
): PageEncoder<Item> {
  return (items, target) => {
    const page = new PageText(target, items.length);
    for (let index = 0; index < items.length; index++) {
      let line: string;
      try {
        line = toJson
          ? jsonText(toJson(items[index] as Item, target.unit), TO_JSON, index)
          : jsonText(items[index], ITEMS, index);
      } catch (cause) {
        throw page.failure(index, cause);
      }
      page.add(index, `${line}\n`);
    }
    return page.text;
  };
}
