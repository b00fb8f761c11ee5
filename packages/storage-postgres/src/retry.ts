/**
 * Which failures are worth another try: the connection broke (the server terminated it,
 * restarted, or the network dropped), or the server rolled the transaction back on its own
 * (serialization failure, deadlock). Anything else (a constraint, bad input) fails at once.
 */
const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || code.startsWith('57P') || code.startsWith('E'))
  ) {
    return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection error|not queryable|Client was closed|ended by the other party/i.test(
    message,
  );
}

export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && TRANSIENT_CODES.has(code)) || isConnectionError(error);
}

/** A unique violation of the flushes table: the flush committed in an earlier attempt. */
export function isDuplicateFlush(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'flushes_pkey';
}

export interface RetryPolicy {
  /** Tries in all, the first included. Default 8. */
  attempts: number;
  /** Longest pause between tries. Default 1000 ms. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, maxDelayMs: 1000 };

/** Exponential pause with jitter before try `attempt` + 1. */
export function backoff(attempt: number, policy: RetryPolicy): Promise<void> {
  const base = Math.min(policy.maxDelayMs, 25 * 2 ** (attempt - 1));
  const ms = base / 2 + Math.random() * (base / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
