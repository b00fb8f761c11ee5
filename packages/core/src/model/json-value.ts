/**
 * Whether a value survives the JSON a checkpoint is stored as. Pure: the run and the pipeline
 * call it where a source's or sink's values enter, so that what a resume reads back is what was
 * recorded.
 */
import { CheckpointValueError } from '../errors.js';

/** `cursor.next`, `cursor[2]`, `meta["a b"]`: the path of a property, as a reader would write it. */
export function fieldPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Why `value` (named `path` in the message) would not come back from JSON as it is, or
 * undefined when it would. An object property that is undefined is fine (JSON leaves it out,
 * which reads the same); everything else JSON would change or refuse is named: NaN and
 * ±Infinity (null), a Date (a string), a Map, Set or class instance (`{}` or its own fields),
 * a bigint, function or symbol, a hole or undefined in an array (null), a cycle, nesting deeper than {@link MAX_VALUE_NESTING}.
 */
export function jsonProblem(value: unknown, path: string): JsonProblem | undefined {
  return problemOf(value, path, []);
}

/**
 * How deep a checkpoint document may nest: Python's json cannot write one much deeper (its
 * recursion limit is 1000), and readers refuse deeper ones rather than overflow the stack.
 */
export const MAX_DOCUMENT_NESTING = 1000;

/**
 * How deep a recorded value (a cursor, a meta value, a mapped id) may nest: a document's own
 * levels above it (`units`, the key, `cursor`, a sink's entries) are fewer than 10, so a
 * checkpoint holding it stays within {@link MAX_DOCUMENT_NESTING} and reads back.
 */
export const MAX_VALUE_NESTING = MAX_DOCUMENT_NESTING - 10;

/** What {@link jsonProblem} found: the field (a path under the one given) and the whole message. */
export interface JsonProblem {
  field: string;
  message: string;
}

const at = (field: string, what: string): JsonProblem => ({ field, message: `${field} ${what}` });

function problemOf(value: unknown, path: string, ancestors: object[]): JsonProblem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : at(path, `is ${value}, which JSON stores as null`);
    case 'undefined':
      return at(path, `is undefined, which JSON cannot store (use null for none)`);
    case 'bigint':
      return at(path, `is a bigint (${value}n), which JSON cannot store (use a string)`);
    case 'function':
    case 'symbol':
      return at(path, `is a ${typeof value}, which JSON cannot store`);
  }
  if (value === null) return undefined;
  const object = value as object;
  const cycle = ancestors.indexOf(object);
  if (cycle >= 0)
    return at(path, `is ${ancestorPath(path, ancestors.length - cycle)} itself (a cycle)`);
  if (ancestors.length >= MAX_VALUE_NESTING) {
    return at(
      path,
      `is nested more than ${MAX_VALUE_NESTING} levels deep, which checkpoint readers refuse`,
    );
  }
  ancestors.push(object);
  try {
    if (Array.isArray(object)) return arrayProblem(object, path, ancestors);
    const prototype = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = (prototype?.constructor as { name?: string } | undefined)?.name || 'object';
      const hint = object instanceof Date ? ' (use its ISO string)' : '';
      return at(path, `is a ${kind}, which JSON does not store as it is${hint}`);
    }
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key];
      if (item === undefined) continue;
      const problem = problemOf(item, fieldPath(path, key), ancestors);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    ancestors.pop();
  }
}

function arrayProblem(
  array: unknown[],
  path: string,
  ancestors: object[],
): JsonProblem | undefined {
  for (let i = 0; i < array.length; i++) {
    const item = fieldPath(path, i);
    if (!(i in array)) return at(item, 'is a hole, which JSON stores as null');
    const problem = problemOf(array[i], item, ancestors);
    if (problem) return problem;
  }
  return undefined;
}

/** The path of the ancestor `up` levels above `path` (a cycle names where it closes). */
function ancestorPath(path: string, up: number): string {
  let at = path;
  for (let i = 0; i < up; i++) at = at.replace(/(\.[A-Za-z_$][\w$]*|\[[^\]]*\])$/, '');
  return at;
}

/** Throws {@link CheckpointValueError} for a value JSON cannot hold, naming where it was going. */
export function checkJsonValue(value: unknown, field: string): void {
  const problem = jsonProblem(value, field);
  if (problem) throw new CheckpointValueError(problem.field, problem.message);
}

/** `units["a/b"]`: a unit's place in a checkpoint, for messages. */
export const unitField = (key: string): string => `units[${JSON.stringify(key)}]`;
