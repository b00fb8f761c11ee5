import { OptionsError } from '../errors.js';
import { fieldPath } from './json-value.js';
import type { Json } from './schema.js';

/**
 * Canonical JSON: object keys sorted, no white space, `undefined` members and functions dropped,
 * so two equal configs always give the same text, whatever the order their keys were written in.
 * What JSON would make equal though it differs is refused with an {@link OptionsError} naming
 * the field: a Set or Map (`{}` whatever it holds), NaN or Infinity (`null`), a bigint.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, 'config'));
}

function sortKeys(value: unknown, path: string): Json | undefined {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    if (typeof value === 'number' && !Number.isFinite(value))
      throw refused(path, `is ${value}, which JSON stores as null: a change of it would go unseen`);
    if (typeof value === 'bigint')
      throw refused(path, 'is a bigint, which JSON cannot store (use a string)');
    return value as Json;
  }
  if (Array.isArray(value))
    return value.map((item, i) => sortKeys(item, fieldPath(path, i)) ?? null);
  if (value instanceof Set || value instanceof Map)
    throw refused(
      path,
      `is a ${value instanceof Set ? 'Set' : 'Map'}, which JSON stores as {} whatever it holds: a change of it would go unseen (use ${value instanceof Set ? 'an array' : 'an object'})`,
    );
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return sortKeys((value as { toJSON: () => unknown }).toJSON(), path);
  }
  const sorted: Record<string, Json> = {};
  for (const key of Object.keys(value).sort()) {
    const item = sortKeys((value as Record<string, unknown>)[key], fieldPath(path, key));
    if (item !== undefined) sorted[key] = item;
  }
  return sorted;
}

const refused = (path: string, reason: string) => new OptionsError('openRun', path, reason);

/** sha256 (hex) of the canonical JSON of a job's config. Uses Web Crypto, so it runs anywhere. */
export async function configDigest(config: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(config));
  const hash = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(hash), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
