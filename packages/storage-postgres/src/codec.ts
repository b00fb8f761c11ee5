/**
 * PostgreSQL text cannot hold NUL characters, and UTF-8 cannot hold lone surrogates; JavaScript
 * strings can, and checkpoint ids, keys and cursors must come back verbatim. Such strings (and
 * strings that start with the marker) are stored as the marker followed by their JSON form,
 * which is plain ASCII for those characters. Every other string is stored as it is.
 */
const MARKER = '\uE000';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const needsEncoding = (value: string) =>
  value.includes('\u0000') || value.startsWith(MARKER) || LONE_SURROGATE.test(value);

/** A string as a text column stores it. */
export function encodeText(value: string): string {
  if (needsEncoding(value)) return MARKER + JSON.stringify(value);
  return value;
}

/** A text column's value as the string it was given. */
export function decodeText(value: string): string {
  return value.startsWith(MARKER) ? (JSON.parse(value.slice(1)) as string) : value;
}

/** A JSON value as jsonb text, with every string and key encoded. Undefined and null give SQL NULL. */
export function encodeJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(encodeDeep(value));
}

/** A jsonb value as parsed by `pg`, with every string and key decoded. */
export function decodeJson<T>(value: unknown): T {
  return decodeDeep(value) as T;
}

function encodeDeep(value: unknown): unknown {
  if (typeof value === 'string') return encodeText(value);
  if (Array.isArray(value)) return value.map(encodeDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      setKey(out, encodeText(key), encodeDeep(inner));
    return out;
  }
  return value;
}

function decodeDeep(value: unknown): unknown {
  if (typeof value === 'string') return decodeText(value);
  if (Array.isArray(value)) return value.map(decodeDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      setKey(out, decodeText(key), decodeDeep(inner));
    return out;
  }
  return value;
}

/** Sets an own property, even one named `__proto__` (keys come from users and APIs). */
export function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value;
}

/** Reads an own property only: `constructor` or `__proto__` are keys like any other. */
export function ownKey<T>(target: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(target, key) ? target[key] : undefined;
}
