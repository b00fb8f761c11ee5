import { OptionsError, type Sink } from '@checkpointkit/core';
import { type FileSinkOptions, fileSink } from './file-sink.js';
import { encodeItem } from './items.js';

/** A CSV column: its header and how to get its value from an item. */
export interface CsvColumn<Item> {
  header: string;
  value: (item: Item, unit: string) => unknown;
}

/** Options of {@link csvSink}. */
export interface CsvSinkOptions<Item> extends FileSinkOptions {
  /** The columns, in order: a property name of the item, or a header with a function. */
  columns: readonly ((keyof Item & string) | CsvColumn<Item>)[];
  /** Write the header row first in each file. Default true. */
  header?: boolean;
  /** Default `,`. */
  delimiter?: string;
  /** Default `\n`; RFC 4180 says `\r\n`. */
  newline?: '\n' | '\r\n';
}

/**
 * Writes each item as one CSV row (RFC 4180 quoting), exactly once, like {@link jsonLinesSink}:
 * pages are appended and fsynced, their byte offset saved with their cursor, and a resumed run
 * cuts the file back to the last saved offset first. The header row is part of a file's first
 * page, so it is written once per file.
 *
 * Values: strings as they are, numbers and booleans with `String`, dates as ISO 8601, null and
 * undefined as empty cells, anything else as JSON.
 *
 * @example
 * ```ts
 * csvSink<Reading>({ path: 'readings.csv', columns: ['station', 'seq', 'celsius'] });
 * ```
 */
export function csvSink<Item>(options: CsvSinkOptions<Item>): Sink<Item> {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || /["\r\n]/.test(delimiter)) {
    throw new OptionsError(
      'csvSink',
      'delimiter',
      `must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}`,
    );
  }
  const newline = options.newline ?? '\n';
  const columns: CsvColumn<Item>[] = options.columns.map((column) =>
    typeof column === 'string'
      ? { header: column, value: (item: Item) => item[column as keyof Item] }
      : column,
  );
  if (columns.length === 0)
    throw new OptionsError('csvSink', 'columns', 'must name at least one column');
  const row = (cells: readonly unknown[]) =>
    cells.map((cell) => csvCell(cell, delimiter)).join(delimiter) + newline;
  const headers = columns.map((column) => column.header);
  const unpaired = headers.find((header) => LONE_SURROGATE.test(header));
  if (unpaired !== undefined) {
    throw new OptionsError(
      'csvSink',
      'columns',
      `header ${JSON.stringify(unpaired)} holds a lone surrogate, which UTF-8 cannot hold`,
    );
  }
  const headerRow = row(headers);
  return fileSink<Item>(options, (items, target) => {
    let text = target.fresh && options.header !== false ? headerRow : '';
    for (const [index, item] of items.entries()) {
      text += encodeItem(target, index, () => {
        const cells = columns.map((column) => column.value(item, target.unit));
        const line = row(cells);
        // One scan of the row; the cell is looked for only when there is one to name.
        if (LONE_SURROGATE.test(line)) throw loneSurrogate(columns, cells, delimiter);
        return line;
      });
    }
    return text;
  });
}

/**
 * Half of a UTF-16 surrogate pair without the other half (a string cut in the middle of an
 * emoji): UTF-8 cannot hold it, and writing it silently turned it into U+FFFD, changing the
 * user's text. JSON Lines needs no such check: JSON.stringify writes it as a `\ud83d` escape.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The error for a row with a lone surrogate, naming the first column that holds one. */
function loneSurrogate<Item>(
  columns: readonly CsvColumn<Item>[],
  cells: readonly unknown[],
  delimiter: string,
): Error {
  const at = cells.findIndex((cell) => LONE_SURROGATE.test(csvCell(cell, delimiter)));
  return new Error(
    `column ${JSON.stringify(columns[at]?.header)} holds a lone surrogate (half of a UTF-16 pair), which UTF-8 cannot hold; it would be written as U+FFFD`,
  );
}

/** One cell: quoted when it holds the delimiter, a quote, a line break, or spaces at its ends. */
export function csvCell(value: unknown, delimiter = ','): string {
  const text =
    value === null || value === undefined
      ? ''
      : typeof value === 'string'
        ? value
        : value instanceof Date
          ? value.toISOString()
          : typeof value === 'object'
            ? JSON.stringify(value)
            : String(value);
  const quote =
    text.includes(delimiter) || /["\r\n]/.test(text) || (text.length > 0 && text.trim() !== text);
  return quote ? `"${text.replaceAll('"', '""')}"` : text;
}
