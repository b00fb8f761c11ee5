import { CheckpointFormatError } from '../errors.js';
import { formatPath } from './issues.js';
import { findInexactNumber } from './json-numbers.js';
import { type ReadResult, readCheckpointDocument } from './read.js';
import type { ReadOptions } from './shared.js';

/**
 * Parses the text of a checkpoint file and reads it with {@link readCheckpointDocument}.
 *
 * @throws CheckpointFormatError naming the file: `empty file` for an empty (or blank) text,
 *   `not JSON: ...` with line and column for text that is not JSON (`ends early (truncated?)`
 *   when it stops in the middle; the number JSON lacks when Python's `NaN` or `Infinity` is
 *   there), a number JavaScript cannot read as written (an integer above 2^53 that no double
 *   equals, `1e400`) with its field, or what {@link readCheckpointDocument} throws.
 */
export function parseCheckpointJson(text: string, options: ReadOptions = {}): ReadResult {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trim() === '') throw new CheckpointFormatError(options.file, 'empty file');
  // A crash after the file's size reached the disk but before its data did leaves zero bytes.
  if (/^[\0\s]*$/.test(body)) {
    throw new CheckpointFormatError(
      options.file,
      'empty file (only zero bytes: it was never written)',
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    throw jsonError(body, error, options.file);
  }
  const inexact = findInexactNumber(body);
  if (inexact) {
    const where = formatPath(inexact.path);
    const cause = where ? `${where}: ${inexact.cause}` : inexact.cause;
    throw new CheckpointFormatError(options.file, cause, inexact.line);
  }
  return readCheckpointDocument(data, options);
}

/** What Python's json.dump writes for float('nan'), float('inf') and float('-inf'). */
const PYTHON_NUMBER = /NaN|-?Infinity/y;

/** The Python number where JSON.parse failed (engines point at the `-` or just after it). */
function pythonNumberAt(body: string, position: number): { token: string; at: number } | null {
  for (const at of [position - 1, position]) {
    if (at < 0) continue;
    PYTHON_NUMBER.lastIndex = at;
    const token = PYTHON_NUMBER.exec(body)?.[0];
    if (token && (at === position || token.startsWith('-'))) return { token, at };
  }
  return null;
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
  // A cut through a multi-byte character decodes to U+FFFD at the end: still a cut.
  const end = body.trimEnd().replace(/\uFFFD+$/, '').length;
  const truncated = isEndOfInput(message) || (position !== null && position >= end);
  const python = truncated || position === null ? null : pythonNumberAt(body, position);
  let kind: string;
  if (truncated) kind = 'ends early (truncated?)';
  else if (python) kind = python.token;
  else if (!match || /^Unexpected token/i.test(match[1] ?? '')) kind = 'unexpected character';
  else kind = (match[1] ?? '').replace(/^\w/, (first) => first.toLowerCase());
  const hint = python ? ' (Python writes it for a float JSON cannot hold)' : '';
  const at = truncated ? end : (python?.at ?? position);
  if (at === null)
    return new CheckpointFormatError(file, `not JSON: ${kind}${hint}`, undefined, { cause: error });
  const before = body.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return new CheckpointFormatError(file, `not JSON: ${kind} at column ${column}${hint}`, line, {
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
