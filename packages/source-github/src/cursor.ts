import type { Json } from '@checkpointkit/core';
import { GithubCursorError } from './errors.js';

/**
 * Where a walk through a paginated list stands, as recorded in the checkpoint after each page.
 * URLs are GitHub's own, never rebuilt: a walk that started at `/repos/acme/api/issues` goes on
 * at `/repositories/1234/issues?page=7` when that is what the Link header said.
 */
export interface WalkCursor {
  /** The next page: the rel="next" URL of the last page read, exactly as given; null at the end. */
  next: string | null;
  /** The walk's first page, as GitHub served it (after any redirect): a refresh re-reads it. */
  first: string;
  /** The first page's ETag: a refresh sends it as If-None-Match, and 304 means unchanged. */
  etag: string | null;
  /** The watermark: the newest update time delivered so far (ISO 8601), or null. */
  since: string | null;
  /** Ids delivered at exactly the watermark, so a refresh does not deliver them again. */
  edge: Array<string | number>;
  /** Ids delivered on the last page, so items pushed onto the next page are not delivered twice. */
  seen: Array<string | number>;
  /** During a refresh: the previous walk's watermark; items older than it end the walk. */
  stopAt: string | null;
  /** Set on an ended walk when a refresh was asked for (`refresh: true`): re-read it from the first page. */
  refresh?: boolean;
}

/** The reviews unit walks the pull requests, and the reviews of each. */
export interface ReviewsCursor extends WalkCursor {
  /** Pull request numbers from the last pulls page whose reviews are not all delivered yet. */
  queue: number[];
  /** The next page of the reviews of `queue[0]`; null to start at its first page. */
  reviews: string | null;
  /** Ids of the reviews delivered on the last reviews page. */
  reviewsSeen: Array<string | number>;
}

type Id = string | number;

const isId = (value: unknown): value is Id =>
  typeof value === 'string' || typeof value === 'number';
const isIdList = (value: unknown): value is Id[] => Array.isArray(value) && value.every(isId);
const isNullableString = (value: unknown) => value === null || typeof value === 'string';

/** Reads a stored walk cursor; null starts a fresh walk. A cursor of another shape is an error. */
export function readWalkCursor(unit: string, value: Json): WalkCursor | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GithubCursorError(
      unit,
      `is ${JSON.stringify(value)}, not an object written by source-github`,
    );
  }
  const c = value as Record<string, Json>;
  const bad = (field: string) =>
    new GithubCursorError(unit, `field "${field}" is missing or malformed`);
  if (typeof c['first'] !== 'string') throw bad('first');
  if (!isNullableString(c['next'])) throw bad('next');
  if (!isNullableString(c['etag'])) throw bad('etag');
  if (!isNullableString(c['since'])) throw bad('since');
  if (!isNullableString(c['stopAt'] ?? null)) throw bad('stopAt');
  if (!isIdList(c['seen'] ?? [])) throw bad('seen');
  if (!isIdList(c['edge'] ?? [])) throw bad('edge');
  if (typeof (c['refresh'] ?? false) !== 'boolean') throw bad('refresh');
  return {
    ...(c['refresh'] === true && { refresh: true }),
    next: c['next'] as string | null,
    first: c['first'],
    etag: c['etag'] as string | null,
    since: c['since'] as string | null,
    edge: (c['edge'] ?? []) as Id[],
    seen: (c['seen'] ?? []) as Id[],
    stopAt: (c['stopAt'] ?? null) as string | null,
  };
}

export function readReviewsCursor(unit: string, value: Json): ReviewsCursor | null {
  const walk = readWalkCursor(unit, value);
  if (!walk) return null;
  const c = value as Record<string, Json>;
  const queue = c['queue'] ?? [];
  if (!(Array.isArray(queue) && queue.every((n) => typeof n === 'number'))) {
    throw new GithubCursorError(unit, 'field "queue" is missing or malformed');
  }
  if (!isNullableString(c['reviews'] ?? null)) {
    throw new GithubCursorError(unit, 'field "reviews" is missing or malformed');
  }
  if (!isIdList(c['reviewsSeen'] ?? [])) {
    throw new GithubCursorError(unit, 'field "reviewsSeen" is missing or malformed');
  }
  return {
    ...walk,
    queue: queue as number[],
    reviews: (c['reviews'] ?? null) as string | null,
    reviewsSeen: (c['reviewsSeen'] ?? []) as Id[],
  };
}
