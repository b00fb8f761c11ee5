import { OptionsError, type Sink } from '@checkpointkit/core';
import { type FileSinkOptions, fileSink, type PageEncoder } from './file-sink.js';
import { PageText } from './items.js';
import { cellText, fieldPath, type Root, UnwritableValueError } from './values.js';

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
 * Values: strings as they are, numbers, bigints and booleans with `String`, dates as ISO 8601,
 * null and undefined as empty cells, other objects as JSON. A function or symbol, an invalid
 * Date, or an object JSON cannot hold or would change (a bigint, a cycle, NaN, a Map inside)
 * fails the unit with a `SinkFileItemError` naming the column and the field.
 *
 * @example
 * ```ts
 * csvSink<Reading>({ path: 'readings.csv', columns: ['station', 'seq', 'celsius'] });
 * ```
 */
export function csvSink<Item>(options: CsvSinkOptions<Item>): Sink<Item> {
  return fileSink<Item>(options, csvEncoder(options));
}

/** A column as the encoder uses it: its header, its value, and how to name a cell of it. */
interface Column<Item> extends CsvColumn<Item>, Root {}

/**
 * The page encoder of {@link csvSink}, its options checked (an `OptionsError` for a delimiter,
 * columns or a header that cannot work): a row per item, each cell checked by {@link cellText}
 * (a value it cannot hold fails the page with a `SinkFileItemError` naming the column and the
 * field), the page's length by {@link PageText}. Internal; exported for the tests.
 */
export function csvEncoder<Item>(
  options: Pick<CsvSinkOptions<Item>, 'columns' | 'header' | 'delimiter' | 'newline'>,
): PageEncoder<Item> {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || /["\r\n]/.test(delimiter)) {
    throw new OptionsError(
      'csvSink',
      'delimiter',
      `must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}`,
    );
  }
  const newline = options.newline ?? '\n';
  const columns: Column<Item>[] = options.columns.map((column, at) =>
    typeof column === 'string'
      ? {
          header: column,
          value: (item: Item) => item[column as keyof Item],
          // The cell is the item's property: name it so.
          field: (index: number) => fieldPath(`items[${index}]`, column),
        }
      : {
          header: column.header,
          value: column.value,
          field: (index: number) => `columns[${at}].value(items[${index}])`,
        },
  );
  if (columns.length === 0)
    throw new OptionsError('csvSink', 'columns', 'must name at least one column');
  const headers = columns.map((column) => column.header);
  const unpaired = headers.find((header) => LONE_SURROGATE.test(header));
  if (unpaired !== undefined) {
    throw new OptionsError(
      'csvSink',
      'columns',
      `header ${JSON.stringify(unpaired)} holds a lone surrogate, which UTF-8 cannot hold`,
    );
  }
  const headerRow = headers.map((header) => quoteCell(header, delimiter)).join(delimiter) + newline;
  // The cells of the row being encoded, to name the one with a lone surrogate without calling the
  // column functions again; one array for every row (encoding is synchronous).
  const texts: string[] = new Array(columns.length);
  const row = (item: Item, unit: string, index: number): string => {
    let line = '';
    for (let at = 0; at < columns.length; at++) {
      const column = columns[at] as Column<Item>;
      const cell = column.value(item, unit);
      let text: string;
      try {
        text = quoteCell(cellText(cell, column, index), delimiter);
      } catch (error) {
        throw error instanceof UnwritableValueError ? error.inColumn(column.header) : error;
      }
      texts[at] = text;
      line += at === 0 ? text : delimiter + text;
    }
    // One scan of the row; the cell is looked for only when there is one to name.
    if (LONE_SURROGATE.test(line)) throw loneSurrogate(columns, texts, index);
    return line + newline;
  };
  return (items, target) => {
    const page = new PageText(
      target,
      items.length,
      target.fresh && options.header !== false ? headerRow : '',
    );
    for (let index = 0; index < items.length; index++) {
      let line: string;
      try {
        line = row(items[index] as Item, target.unit, index);
      } catch (cause) {
        throw page.failure(index, cause);
      }
      page.add(index, line);
    }
    return page.text;
  };
}

/**
 * Half of a UTF-16 surrogate pair without the other half (a string cut in the middle of an
 * emoji): UTF-8 cannot hold it, and writing it silently turned it into U+FFFD, changing the
 * user's text. JSON Lines needs no such check: JSON.stringify writes it as a `\ud83d` escape.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The error for a row with a lone surrogate, naming the first cell (of `texts`) that holds one. */
function loneSurrogate<Item>(
  columns: readonly Column<Item>[],
  texts: readonly string[],
  index: number,
): Error {
  const at = Math.max(
    0,
    texts.findIndex((text) => LONE_SURROGATE.test(text)),
  );
  const column = columns[at] as Column<Item>;
  return new UnwritableValueError(
    column.field(index),
    'holds a lone surrogate (half of a UTF-16 pair), which UTF-8 cannot hold; it would be written as U+FFFD',
    { column: column.header },
  );
}

/** `value`: what {@link csvCell} calls the value it was given, in its errors. */
const VALUE: Root = { field: () => 'value' };

/**
 * One cell: strings as they are, numbers, bigints and booleans with `String`, a Date as ISO
 * 8601, null and undefined empty, any other object as JSON; quoted when it holds the delimiter,
 * a quote, a line break, or spaces at its ends. Throws for a value it cannot write (a function
 * or symbol, an invalid Date, an object JSON cannot hold, such as one with a bigint: the error
 * names its field, `value.a`), where it wrote a function's source text or changed the object.
 */
export function csvCell(value: unknown, delimiter = ','): string {
  return quoteCell(cellText(value, VALUE, 0), delimiter);
}

/** Quotes a cell's text when it holds the delimiter, a quote, a line break, or spaces at its ends. */
function quoteCell(text: string, delimiter: string): string {
  const quote =
    text.includes(delimiter) || /["\r\n]/.test(text) || (text.length > 0 && text.trim() !== text);
  return quote ? `"${text.replaceAll('"', '""')}"` : text;
}
