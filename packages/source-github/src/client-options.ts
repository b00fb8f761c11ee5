import { checkAuthToken } from './auth-token.js';
import type { GithubClientOptions } from './client.js';
import { GithubSourceConfigError } from './errors.js';

/** The longest delay a Node timer holds; a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Most retries: the plugin's backoff (n² seconds) stays far below a timer's limit. */
const MAX_RETRIES = 100;

/**
 * Checks the token (see `checkAuthToken`) and the numbers of {@link GithubClientOptions}, naming
 * the option. Each number becomes a timer or a loop bound: `timeout` past 2^31-1 ms aborted every
 * request after 1 ms (Node's overflow) and Infinity, NaN or 1.5 failed every request; a wait past
 * a timer's limit came at once; a retry count of Infinity or NaN meant none at all.
 */
export function checkClientOptions(options: GithubClientOptions): void {
  checkAuthToken(options.auth);
  const base = options.retryAfterBaseMs ?? 1000;
  if (!(typeof base === 'number' && Number.isFinite(base) && base >= 0)) {
    throw new GithubSourceConfigError('retryAfterBaseMs', `must be a number >= 0, got ${base}`);
  }
  whole('timeout', options.timeout, 1, MAX_TIMER_MS, 'milliseconds');
  whole('maxResponseBytes', options.maxResponseBytes, 1, Number.MAX_SAFE_INTEGER, 'bytes');
  whole('retries', options.retries, 0, MAX_RETRIES);
  whole('secondaryRetries', options.secondaryRetries, 0, MAX_RETRIES);
  const wait = options.maxResetWait;
  const most = base === 0 ? Number.MAX_SAFE_INTEGER : Math.floor(MAX_TIMER_MS / base);
  if (wait !== undefined && !(typeof wait === 'number' && wait >= 0 && wait <= most)) {
    throw new GithubSourceConfigError(
      'maxResetWait',
      `must be from 0 to ${most} seconds (a longer wait does not fit a timer), got ${wait}`,
    );
  }
}

function whole(field: string, value: unknown, min: number, max: number, unit = ''): void {
  if (value === undefined) return;
  if (!(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
    const what = unit ? ` of ${unit}` : '';
    throw new GithubSourceConfigError(
      field,
      `must be a whole number${what} from ${min} to ${max}, got ${String(value)}`,
    );
  }
}
