import { MAX_DOCUMENT_NESTING } from '../model/json-value.js';
import { formatPath } from './issues.js';

/**
 * How deep a checkpoint document may nest. Python's json cannot write a document much deeper
 * (it stops at its recursion limit of 1000), and the checks and writes after reading recurse:
 * a few thousand levels overflowed the stack with a RangeError instead of a typed error. A run
 * refuses values nested deeper than this leaves room for, so what it writes reads back.
 */
export const MAX_DEPTH = MAX_DOCUMENT_NESTING;

interface Place {
  value: unknown;
  depth: number;
  parent: Place | null;
  key: string | number;
}

/**
 * Where `doc` holds an object or array below {@link MAX_DEPTH} levels (the path's first
 * segments, as `state.a[0][0]...`), or null. Iterative, so any depth is measured without a stack
 * overflow.
 */
export function tooDeep(doc: unknown): string | null {
  const stack: Place[] = [{ value: doc, depth: 0, parent: null, key: '' }];
  for (let place = stack.pop(); place; place = stack.pop()) {
    const { value, depth } = place;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_DEPTH) return describe(place);
    const record = value as Record<string, unknown>;
    const keys: (string | number)[] = Array.isArray(value) ? [...value.keys()] : Object.keys(value);
    for (const key of keys) {
      stack.push({ value: record[key as string], depth: depth + 1, parent: place, key });
    }
  }
  return null;
}

function describe(place: Place): string {
  const path: (string | number)[] = [];
  for (let at: Place | null = place; at?.parent; at = at.parent) path.push(at.key);
  path.reverse();
  const shown = formatPath(path.slice(0, 4));
  return path.length > 4 ? `${shown}...` : shown;
}
