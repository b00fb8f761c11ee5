import { resolve, sep } from 'node:path';
import { OptionsError } from '@checkpointkit/core';
import { describe, SinkFilePathError } from './errors.js';
import { DEFAULT_SINK_ID } from './state.js';

/** The options every file sink takes, checked. */
export interface CheckedOptions {
  id: string;
  /** The size a part may reach before the next page starts a new one; Infinity: no rotation. */
  maxBytes: number;
  /** Resolves a unit's file: `key` as the path was given (for meta), `file` absolute. */
  pathOf(unit: string): { key: string; file: string };
}

/**
 * Checks the options before anything is written, with an {@link OptionsError} that names the
 * option and what is wrong with its value, and builds the path resolver. Relative paths resolve
 * against `base`, the working directory of when the sink was made.
 */
export function checkOptions(
  options: { path: unknown; id?: unknown; maxBytes?: unknown },
  base: string,
): CheckedOptions {
  const id = options.id ?? DEFAULT_SINK_ID;
  if (typeof id !== 'string' || id === '' || id.includes(':')) {
    throw new OptionsError(
      'file sink',
      'id',
      `must be a non-empty name without a colon (its entries are "<id>:<path>"), got ${describe(id)}`,
    );
  }
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (
    typeof maxBytes !== 'number' ||
    !(maxBytes > 0) ||
    (maxBytes !== Number.POSITIVE_INFINITY && !Number.isSafeInteger(maxBytes))
  ) {
    throw new OptionsError(
      'file sink',
      'maxBytes',
      `must be a whole number of bytes above 0, got ${typeof maxBytes === 'string' ? `a string ${describe(maxBytes)}` : typeof maxBytes === 'number' ? maxBytes : describe(maxBytes)}; leave it out for no rotation`,
    );
  }
  const { path } = options;
  if (typeof path === 'function') {
    const given = path as (unit: string) => unknown;
    return { id, maxBytes, pathOf: (unit) => resolveUnitPath(unit, given(unit), base) };
  }
  const problem = pathProblem(path);
  if (problem) {
    throw new OptionsError(
      'file sink',
      'path',
      `must be a file path or a function of the unit that returns one, got ${describe(path)}, which ${problem}`,
    );
  }
  const fixed = { key: path as string, file: resolve(base, path as string) };
  return { id, maxBytes, pathOf: () => fixed };
}

function resolveUnitPath(unit: string, path: unknown, base: string) {
  const problem = pathProblem(path);
  if (problem) throw new SinkFilePathError(unit, path, problem);
  return { key: path as string, file: resolve(base, path as string) };
}

/** Why `path` is no file path, or null. `resolve` would make `''` the working directory and `out/` a file `out`. */
function pathProblem(path: unknown): string | null {
  if (typeof path !== 'string') return 'is not a string';
  if (path === '') return 'is empty';
  if (path.endsWith('/') || path.endsWith(sep)) return 'ends with a separator: it names a folder';
  return null;
}
