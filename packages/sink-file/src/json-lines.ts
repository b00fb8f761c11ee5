import type { Sink } from '@checkpointkit/core';
import { SinkFileItemError } from './errors.js';
import { type FileSinkOptions, fileSink } from './file-sink.js';
import { encodeItem } from './items.js';

/** Options of {@link jsonLinesSink}. */
export interface JsonLinesSinkOptions<Item> extends FileSinkOptions {
  /** What to write for an item (default: the item itself); it must serialize to JSON. */
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
  const toJson = options.toJson;
  return fileSink<Item>(options, (items, target) => {
    let text = '';
    for (const [index, item] of items.entries()) {
      const line = encodeItem(target, index, () =>
        JSON.stringify(toJson ? toJson(item, target.unit) : item),
      );
      if (line === undefined) {
        throw new SinkFileItemError(
          target.path,
          target.unit,
          index,
          'is not JSON (undefined, a function or a symbol)',
        );
      }
      text += `${line}\n`;
    }
    return text;
  });
}
