/**
 * How long a 429 asks the client to wait, in milliseconds: the `Retry-After` header first
 * (delta-seconds or an HTTP date), else the body's `retry_after_ms`; null when neither says.
 */
export function retryAfterMs(
  header: string | null,
  body: unknown,
  now = Date.now(),
): number | null {
  if (header !== null && header.trim() !== '') {
    const text = header.trim();
    if (/^\d+$/.test(text)) return Number(text) * 1000;
    const date = httpDate(text);
    if (date !== null) return Math.max(0, date - now);
  }
  if (body && typeof body === 'object' && 'retry_after_ms' in body) {
    const ms = (body as { retry_after_ms: unknown }).retry_after_ms;
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) return ms;
  }
  return null;
}

const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 = /^[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * An HTTP date in one of the three formats RFC 9110 names, in ms, else null. Not `Date.parse`
 * alone: it reads `-1`, `1.5` or `May 1` as a day in 2001, which turned them into a wait of 0 ms
 * instead of falling back to `retry_after_ms` or the backoff.
 */
function httpDate(text: string): number | null {
  // asctime has no zone and means GMT; Date.parse would take it as local time.
  const parsed = ASCTIME.test(text)
    ? Date.parse(`${text} GMT`)
    : IMF_FIXDATE.test(text) || RFC_850.test(text)
      ? Date.parse(text)
      : Number.NaN;
  return Number.isNaN(parsed) ? null : parsed;
}

/** Exponential backoff for retries the server gave no wait for: 0.5 s, 1 s, 2 s ... capped at 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** attempt);
}
