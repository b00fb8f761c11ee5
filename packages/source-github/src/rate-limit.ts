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
 * Seconds a rate-limited response asks to wait: its `retry-after` (see {@link retryAfterSeconds}),
 * or else, when it says nothing of its primary limit's requests left, its `x-ratelimit-reset` plus
 * a second (as the throttling plugin waits for a primary reset). Undefined when it asks nothing
 * readable.
 */
export function askedWait(headers: Headers | undefined, now: Date): number | undefined {
  const seconds = retryAfterSeconds(headers?.['retry-after'], now);
  if (seconds !== undefined) return seconds;
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

/**
 * A `retry-after` value in seconds: whole seconds, or an HTTP date (RFC 9110: IMF-fixdate, or the
 * obsolete RFC 850 and asctime forms); undefined for anything else. Not `Number` and `Date.parse`:
 * they took `-1`, `1.5` or `0x10` as waits and `May 1` as a day in 2001 (a wait of 1 s). A date
 * already past gives 1, not 0: the throttling plugin reads 0 as "absent", 60 s.
 */
export function retryAfterSeconds(
  value: string | number | undefined,
  now: Date,
): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = httpDate(text, now);
  return date === undefined ? undefined : Math.max(Math.ceil((date - now.getTime()) / 1000), 1);
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** An HTTP date in epoch ms; undefined unless it is one of RFC 9110's three forms and a real time. */
function httpDate(text: string, now: Date): number | undefined {
  const parts = dateParts(text, now);
  if (!parts) return undefined;
  const [day, month, year, hour, minute, second] = parts;
  // 60 is a leap second; 31 Feb, 25:00 or 12:60 are no time at all.
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

/** Day, month (0-11), full year, hour, minute, second. */
type DateParts = [number, number, number, number, number, number];

/** The parts of an HTTP date in any of its forms. */
function dateParts(text: string, now: Date): DateParts | undefined {
  // Picks groups of a match, in the order of DateParts; the month's by name.
  const pick = (match: RegExpExecArray, groups: DateParts): DateParts =>
    groups.map((group, i) =>
      i === 1 ? MONTHS.indexOf(match[group] ?? '') : Number(match[group]),
    ) as DateParts;
  const imf = IMF_FIXDATE.exec(text);
  if (imf) return pick(imf, [1, 2, 3, 4, 5, 6]);
  const asctime = ASCTIME.exec(text);
  if (asctime) return pick(asctime, [2, 1, 6, 3, 4, 5]);
  const rfc850 = RFC_850.exec(text);
  if (!rfc850) return undefined;
  const parts = pick(rfc850, [1, 2, 3, 4, 5, 6]);
  // RFC 9110: a two-digit year more than 50 years ahead is of the century before.
  parts[2] += parts[2] + 2000 > now.getUTCFullYear() + 50 ? 1900 : 2000;
  return parts;
}
