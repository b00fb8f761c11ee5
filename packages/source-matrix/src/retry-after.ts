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
    const date = Date.parse(text);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  if (body && typeof body === 'object' && 'retry_after_ms' in body) {
    const ms = (body as { retry_after_ms: unknown }).retry_after_ms;
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) return ms;
  }
  return null;
}

/** Exponential backoff for retries the server gave no wait for: 0.5 s, 1 s, 2 s ... capped at 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** attempt);
}
