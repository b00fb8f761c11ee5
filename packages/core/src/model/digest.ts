import type { Json } from './schema.js';

/**
 * Canonical JSON: object keys sorted, no white space, `undefined` members dropped, so two equal
 * configs always give the same text, whatever the order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): Json | undefined {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    return value as Json;
  }
  if (Array.isArray(value)) return value.map((item) => sortKeys(item) ?? null);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return sortKeys((value as { toJSON: () => unknown }).toJSON());
  }
  const sorted: Record<string, Json> = {};
  for (const key of Object.keys(value).sort()) {
    const item = sortKeys((value as Record<string, unknown>)[key]);
    if (item !== undefined) sorted[key] = item;
  }
  return sorted;
}

/** sha256 (hex) of the canonical JSON of a job's config. Uses Web Crypto, so it runs anywhere. */
export async function configDigest(config: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(config));
  const hash = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(hash), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
