/** RFC 6901 JSON pointers: `""` is the whole document, `/data/items` a path, `~1` a `/`, `~0` a `~`. */

const MISSING = Symbol('missing');

/** The value at `pointer`, or `MISSING` when the path does not exist. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let value: unknown = document;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(value)) {
      if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= value.length) return MISSING;
      value = value[Number(token)];
    } else if (value !== null && typeof value === 'object' && Object.hasOwn(value, token)) {
      value = (value as Record<string, unknown>)[token];
    } else {
      return MISSING;
    }
  }
  return value;
}

export function isMissing(value: unknown): value is typeof MISSING {
  return value === MISSING;
}

/** Whether `pointer` is a well-formed JSON pointer (checked when the source is made). */
export function isPointer(pointer: string): boolean {
  return pointer === '' || (pointer.startsWith('/') && !/~[^01]|~$/.test(pointer));
}

function parsePointer(pointer: string): string[] {
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}
