import type { RateLimitInfo } from '@checkpointkit/core';

type Headers = Record<string, string | number | undefined>;

/** Reads GitHub's `x-ratelimit-*` headers; undefined when a response carries none. */
export function rateLimitFromHeaders(headers: Headers | undefined): RateLimitInfo | undefined {
  if (!headers) return undefined;
  const remaining = Number(headers['x-ratelimit-remaining']);
  const limit = Number(headers['x-ratelimit-limit']);
  if (
    headers['x-ratelimit-remaining'] === undefined ||
    !Number.isFinite(remaining) ||
    !Number.isFinite(limit)
  ) {
    return undefined;
  }
  const resetAt = resetTime(headers['x-ratelimit-reset']);
  const resource = headers['x-ratelimit-resource'];
  return {
    remaining,
    limit,
    ...(resetAt && { resetAt }),
    ...(typeof resource === 'string' && { resource }),
  };
}

/** `x-ratelimit-reset` is in epoch seconds; an unreadable value gives undefined. */
function resetTime(value: string | number | undefined): string | undefined {
  const seconds = Number(value);
  if (value === undefined || !Number.isFinite(seconds)) return undefined;
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** `14:32 UTC`, with the date in front when the time is not today (UTC). */
export function formatResumeTime(resetAt: string | undefined, now: Date): string {
  if (!resetAt) return 'the rate limit resets';
  const iso = new Date(resetAt).toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

/**
 * Seconds a rate-limited response asks to wait: its `retry-after` (seconds, or an HTTP date), or
 * else, when it says nothing of its primary limit's requests left, its `x-ratelimit-reset` plus
 * a second (as the throttling plugin waits for a primary reset). Undefined when it asks nothing
 * readable. A date already past gives 1, not 0: the plugin reads 0 as "absent", 60 s.
 */
export function askedWait(headers: Headers | undefined, now: Date): number | undefined {
  const given = headers?.['retry-after'];
  if (given !== undefined && String(given).trim() !== '') {
    const seconds = Number(given);
    if (!Number.isNaN(seconds)) return seconds;
    const date = Date.parse(String(given));
    if (!Number.isNaN(date)) return Math.max(Math.ceil((date - now.getTime()) / 1000), 1);
  }
  const reset = Number(headers?.['x-ratelimit-reset']);
  if (
    headers?.['x-ratelimit-remaining'] === undefined &&
    headers?.['x-ratelimit-reset'] !== undefined &&
    Number.isFinite(reset)
  ) {
    return Math.max(Math.ceil(reset - now.getTime() / 1000) + 1, 1);
  }
  return undefined;
}
