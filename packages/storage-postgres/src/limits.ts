import type { Change, Json } from '@checkpointkit/core';
import { encodeJson, encodeText } from './codec.js';
import { PostgresStoreError } from './errors.js';

/**
 * Sizes the store can take, in bytes as stored (UTF-8, after the codec's escaping). A B-tree
 * index entry holds at most 2704 bytes, and the key columns share one entry: a checkpoint id and
 * a unit key (the units' primary key), or an id, a map name and a source id (the id maps').
 * Values are checked before a run records them, so one oversize key is refused where it is
 * planned and never fails the flushes after it.
 */
export const LIMITS = {
  /** A checkpoint id. */
  id: 800,
  /** A unit key, a map name, a source id, a counter or meta name. */
  key: 800,
  /** A unit's cursor, as JSON. */
  cursor: 1024 * 1024,
  /** A meta value, as JSON. */
  value: 1024 * 1024,
} as const;

/** A value too big for the store: names the value (an excerpt), its size and the limit. */
export class PostgresLimitError extends PostgresStoreError {
  override name = 'PostgresLimitError';
  constructor(
    readonly what: string,
    readonly bytes: number,
    readonly limit: number,
    excerpt: string,
  ) {
    super(
      `postgresStore: ${what} ${excerpt} is ${bytes} bytes as stored, over the limit of ${limit} bytes`,
    );
  }
}

function excerpt(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

function checkText(what: string, value: string, limit: number): void {
  const bytes = Buffer.byteLength(encodeText(value), 'utf8');
  if (bytes > limit) throw new PostgresLimitError(what, bytes, limit, excerpt(value));
}

function checkJson(what: string, value: Json | undefined, limit: number): void {
  const encoded = encodeJson(value);
  if (encoded === null) return;
  const bytes = Buffer.byteLength(encoded, 'utf8');
  if (bytes > limit) throw new PostgresLimitError(what, bytes, limit, excerpt(encoded));
}

export function checkId(id: string): void {
  checkText('checkpoint id', id, LIMITS.id);
}

/** Throws {@link PostgresLimitError} for a change with a value the store cannot take. */
export function checkChange(id: string, change: Change): void {
  checkId(id);
  switch (change.type) {
    case 'unit.planned':
    case 'unit.started':
    case 'unit.reset':
    case 'unit.removed':
    case 'unit.failed':
      checkText('unit key', change.key, LIMITS.key);
      return;
    case 'unit.progressed':
    case 'unit.completed':
      checkText('unit key', change.key, LIMITS.key);
      checkJson(`cursor of unit ${excerpt(change.key)}`, change.cursor, LIMITS.cursor);
      return;
    case 'id.mapped':
      checkText('id map name', change.map, LIMITS.key);
      checkText(`source id in map ${excerpt(change.map)}`, change.source, LIMITS.key);
      return;
    case 'counter.added':
      checkText('counter name', change.name, LIMITS.key);
      return;
    case 'meta.set':
      checkText('meta key', change.key, LIMITS.key);
      checkJson(`meta value ${excerpt(change.key)}`, change.value, LIMITS.value);
      return;
    default:
      return;
  }
}
