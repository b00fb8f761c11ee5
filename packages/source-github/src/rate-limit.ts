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
