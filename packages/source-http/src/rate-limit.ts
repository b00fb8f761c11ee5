import type { RateLimitInfo } from '@checkpointkit/core';

/**
 * Reads an API's rate-limit state from its headers: the IETF `RateLimit` header (structured
 * field `"name";r=50;t=30`, or the older `RateLimit-Remaining`/`-Limit`/`-Reset` trio) with
 * `RateLimit-Policy` for the limit (`"name";q=100;w=60`), then `X-RateLimit-Remaining`/`-Limit`/
 * `-Reset` (reset as epoch seconds, or seconds from now when small). Undefined when none is there.
 */
export function rateLimitFromHeaders(headers: Headers, now: Date): RateLimitInfo | undefined {
  return ietf(headers, now) ?? legacy(headers, now);
}

function ietf(headers: Headers, now: Date): RateLimitInfo | undefined {
  const field = headers.get('ratelimit');
  const policy = headers.get('ratelimit-policy');
  if (field && /[;,]\s*r=/.test(`;${field}`)) {
    const item = parseItem(field);
    const remaining = Number(item.params.r);
    if (!Number.isFinite(remaining)) return undefined;
    const policies = policy ? policy.split(',').map(parseItem) : [];
    const matching = policies.find((p) => p.name === item.name) ?? policies[0];
    const limit = Number(matching?.params.q ?? headers.get('ratelimit-limit') ?? remaining);
    const reset = Number(item.params.t);
    return info(
      remaining,
      limit,
      Number.isFinite(reset) ? relative(reset, now) : undefined,
      item.name,
    );
  }
  const remaining = headers.get('ratelimit-remaining');
  if (remaining === null) return undefined;
  const limit = headers.get('ratelimit-limit') ?? policy?.match(/^\s*(\d+)/)?.[1] ?? remaining;
  return info(Number(remaining), Number(limit), resetAt(headers.get('ratelimit-reset'), now));
}

function legacy(headers: Headers, now: Date): RateLimitInfo | undefined {
  const remaining = headers.get('x-ratelimit-remaining');
  if (remaining === null) return undefined;
  const limit = headers.get('x-ratelimit-limit') ?? remaining;
  const resource = headers.get('x-ratelimit-resource') ?? undefined;
  return info(
    Number(remaining),
    Number(limit),
    resetAt(headers.get('x-ratelimit-reset'), now),
    resource,
  );
}

function info(
  remaining: number,
  limit: number,
  reset: string | undefined,
  resource?: string,
): RateLimitInfo | undefined {
  if (!Number.isFinite(remaining) || !Number.isFinite(limit)) return undefined;
  return { remaining, limit, ...(reset && { resetAt: reset }), ...(resource && { resource }) };
}

/** Reset values below a billion are delta seconds (IETF); above, epoch seconds (GitHub and most others). */
function resetAt(value: string | null, now: Date): string | undefined {
  const seconds = Number(value);
  if (value === null || !Number.isFinite(seconds)) return undefined;
  return seconds < 1e9 ? relative(seconds, now) : isoDate(seconds * 1000);
}

function relative(seconds: number, now: Date): string | undefined {
  return isoDate(now.getTime() + seconds * 1000);
}

/**
 * The time as an ISO string, or undefined past what a Date holds (±275,760 years): a reset in
 * microseconds or `t=1e20` made toISOString throw a RangeError that failed the page it came with.
 */
function isoDate(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** A structured-field list item: `"name";r=1;t=2` or `name;r=1`. */
function parseItem(text: string): { name: string | undefined; params: Record<string, string> } {
  const [head = '', ...rest] = text.trim().split(';');
  const params: Record<string, string> = {};
  for (const param of rest) {
    const [key, value] = param.split('=');
    if (key && value !== undefined) params[key.trim()] = value.trim();
  }
  const name = head.replaceAll('"', '').trim();
  return { name: /=/.test(head) ? undefined : name || undefined, params };
}
