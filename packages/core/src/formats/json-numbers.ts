/**
 * Numbers in a JSON text that JavaScript reads as another value. Python's json writes an int of
 * any size in full (a 64-bit id, a byte count) and reads `1e400` as inf; JSON.parse rounds the
 * first to the nearest double and makes the second Infinity, so a reader would return a number
 * the file does not hold, or refuse it with a misleading cause.
 */

/** A number JavaScript cannot read as the file has it: where it is, and why. */
export interface InexactNumber {
  /** The keys and indexes from the document's root to the number. */
  path: (string | number)[];
  /** Its line, from 1. */
  line: number;
  cause: string;
}

/** A path segment: an object member (its key, once read) or an array element (its index). */
interface Frame {
  array: boolean;
  key: string | number | undefined;
  expectingKey: boolean;
}

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\]|\\.)*"/y;

/**
 * The first number of `text` (which must be valid JSON) that JSON.parse does not read exactly:
 * an integer above 2^53 that no double equals, or a number beyond the doubles' range. Null when
 * there is none.
 */
export function findInexactNumber(text: string): InexactNumber | null {
  // Cheap test first: only 16 digits in a row or a 3-digit exponent can be inexact.
  if (!/\d{16}|[eE][+-]?\d{3}/.test(text)) return null;
  const frames: Frame[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at] as string;
    const top = frames[frames.length - 1];
    if (char === '"') {
      STRING.lastIndex = at;
      const token = STRING.exec(text)?.[0] ?? '""';
      if (top && !top.array && top.expectingKey) top.key = JSON.parse(token) as string;
      at += token.length;
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      NUMBER.lastIndex = at;
      const token = NUMBER.exec(text)?.[0] ?? char;
      const cause = inexactness(token);
      if (cause) {
        const path = frames.map((frame) => frame.key as string | number);
        return { path, line: text.slice(0, at).split('\n').length, cause };
      }
      at += token.length;
    } else {
      if (char === '{' || char === '[') {
        frames.push({ array: char === '[', key: char === '[' ? 0 : undefined, expectingKey: true });
      } else if (char === '}' || char === ']') frames.pop();
      else if (char === ':' && top) top.expectingKey = false;
      else if (char === ',' && top) {
        if (top.array) top.key = (top.key as number) + 1;
        else top.expectingKey = true;
      }
      at += 1; // whitespace, punctuation, and the letters of true, false and null
    }
  }
  return null;
}

function inexactness(token: string): string | null {
  const value = Number(token);
  if (!Number.isFinite(value)) return 'a number out of range (beyond ±1.8e308)';
  // An integer as Python writes an int: no fraction, no exponent.
  if (/^-?\d+$/.test(token) && !Number.isSafeInteger(value) && BigInt(token) !== BigInt(value)) {
    return 'an integer with more digits than a JavaScript number holds exactly';
  }
  return null;
}
