import type { GithubObject, ListSpec } from './endpoints.js';
import { GithubResponseError } from './errors.js';

/**
 * A page's items, checked before any is delivered: a list must be a JSON array of objects and a
 * single object (a repository) an object, each with its id (`sha` for commits). A proxy's HTML
 * page or an error object served with 200 was delivered as a record; an item without an id was
 * dropped (every id-less item after the first counted as seen) and its `null` in the cursor's
 * `seen` failed the resume. Retryable: a later answer may be sound.
 */
export function itemsOf(spec: ListSpec, data: unknown, request: string): GithubObject[] {
  const refuse = (reason: string) =>
    new GithubResponseError(request, 'body', reason, { retryable: true });
  const list = spec.paginated !== false;
  if (list && !Array.isArray(data)) throw refuse(`the body is ${kind(data)}, not a JSON array`);
  if (!list && kind(data) !== 'a JSON object') {
    throw refuse(`the body is ${kind(data)}, not a JSON object`);
  }
  const items: unknown[] = list ? (data as unknown[]) : [data];
  items.forEach((item, index) => {
    if (kind(item) !== 'a JSON object')
      throw refuse(`item ${index} is ${kind(item)}, not an object`);
    if (!isId(spec.idOf(item as GithubObject))) {
      throw refuse(`item ${index} has no "${spec.idField}" (a number or a non-empty string)`);
    }
  });
  return items as GithubObject[];
}

const isId = (value: unknown) =>
  (typeof value === 'number' && Number.isFinite(value)) ||
  (typeof value === 'string' && value !== '');

function kind(value: unknown): string {
  if (typeof value === 'string') return 'text';
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a JSON array';
  return typeof value === 'object' ? 'a JSON object' : `a JSON ${typeof value}`;
}

/** An item's time when it reads as one: garbage must not become the watermark. */
export function validTime(value: string | null): string | null {
  return value !== null && Number.isFinite(Date.parse(value)) ? value : null;
}
