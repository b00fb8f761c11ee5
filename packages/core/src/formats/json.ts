import { CheckpointFormatError } from '../errors.js';
import { type ReadResult, readCheckpointDocument } from './read.js';
import type { ReadOptions } from './shared.js';

/**
 * Parses the text of a checkpoint file and reads it with {@link readCheckpointDocument}.
 *
 * @throws CheckpointFormatError naming the file: `empty file` for an empty (or blank) text,
 *   `not JSON: ...` with line and column for text that is not JSON (`ends early (truncated?)`
 *   when it stops in the middle), or what {@link readCheckpointDocument} throws.
 */
export function parseCheckpointJson(text: string, options: ReadOptions = {}): ReadResult {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trim() === '') throw new CheckpointFormatError(options.file, 'empty file');
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    throw jsonError(body, error, options.file);
  }
  return readCheckpointDocument(data, options);
}

/** Texts up to this length get a line number even when the engine gives no position. */
const SEARCH_LIMIT = 1_000_000;

/**
 * A JSON.parse failure as a CheckpointFormatError with line and column. Only the kind of
 * failure is kept from the engine's message: some engines quote the text around it, which may
 * hold a secret.
 */
function jsonError(body: string, error: unknown, file: string | undefined): CheckpointFormatError {
  const message = error instanceof Error ? error.message : String(error);
  const match = /^(.*?) in JSON at position (\d+)/.exec(message);
  const position = match ? Number(match[2]) : firstBadOffset(body);
  const truncated =
    isEndOfInput(message) || (position !== null && position >= body.trimEnd().length);
  let kind: string;
  if (truncated) kind = 'ends early (truncated?)';
  else if (!match || /^Unexpected token/i.test(match[1] ?? '')) kind = 'unexpected character';
  else kind = (match[1] ?? '').replace(/^\w/, (first) => first.toLowerCase());
  const at = truncated ? body.trimEnd().length : position;
  if (at === null)
    return new CheckpointFormatError(file, `not JSON: ${kind}`, undefined, { cause: error });
  const before = body.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return new CheckpointFormatError(file, `not JSON: ${kind} at column ${column}`, line, {
    cause: error,
  });
}

function isEndOfInput(message: string): boolean {
  return /end of (JSON )?input/i.test(message);
}

/**
 * Where JSON text first goes wrong, for engines whose message has no position (Node 20 on an
 * unexpected token): the shortest prefix that is not the start of some JSON text ends there.
 * Null for long texts, where the search would cost too much.
 */
function firstBadOffset(body: string): number | null {
  if (body.length > SEARCH_LIMIT) return null;
  const fine = (length: number) => {
    try {
      JSON.parse(body.slice(0, length));
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      const at = /in JSON at position (\d+)/.exec(message);
      return isEndOfInput(message) || (at !== null && Number(at[1]) >= length);
    }
  };
  let low = 0; // a prefix known to be fine
  let high = body.length; // a prefix known to be bad
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    if (fine(middle)) low = middle;
    else high = middle;
  }
  return high - 1;
}
