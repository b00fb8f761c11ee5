import type { Octokit, OctokitOptions } from '@octokit/core';
import type { RetryPlugin } from '@octokit/plugin-retry';
import { noteRetryWait } from './abortable-waits.js';
import { retryAfterSeconds } from './rate-limit.js';

/** Seconds waited at most for a reset or a `retry-after` when nobody said otherwise. */
export const DEFAULT_MAX_RESET_WAIT = 900;

/** Given to the octokit as its `serverRetryAfter` option; read by {@link serverRetryAfter}. */
export interface ServerRetryAfterOptions {
  /** Seconds of `retry-after` waited at most; a longer one is not retried. Default 900. */
  maxWait?: number;
}

/**
 * An octokit plugin, to be applied after `retry`. @octokit/plugin-retry retries a 5xx after its
 * own backoff (1, 4, 9 s), whatever `retry-after` came with it: a load balancer in front of
 * GitHub Enterprise that asked for 30 s got three requests within 14 s, and the unit failed. This
 * wraps the plugin's own `retryRequest`, the hook its error handler asks for the next wait: a
 * response that carries a readable `retry-after` is retried after at least that (the backoff
 * when it is longer), as many times as the plugin would; one asking for more than `maxWait` is
 * not retried at all (the unit's error then says how long it asked). Each wait is noted for the
 * `abortableWaits` plugin, which waits it out on the request's signal.
 */
export function serverRetryAfter(octokit: Octokit, options: OctokitOptions): Record<string, never> {
  const plugin = (octokit as Partial<RetryPlugin>).retry;
  if (!plugin) return {};
  const given: ServerRetryAfterOptions | undefined = options['serverRetryAfter'];
  const maxWait = given?.maxWait ?? DEFAULT_MAX_RESET_WAIT;
  const retryRequest = plugin.retryRequest;
  plugin.retryRequest = (error, retries, backoff) => {
    const asked = retryAfterSeconds(error.response?.headers['retry-after'], new Date());
    if (asked === undefined) {
      noteRetryWait(error, backoff);
      return retryRequest(error, retries, backoff);
    }
    const request = `${error.status} on ${error.request.method} ${shown(octokit, error.request.url)}`;
    // The server's number: days away it would hold every request of the token that long, and
    // past a timer's limit Node fires the wait at once.
    if (!(asked <= maxWait)) {
      octokit.log.warn(
        `${request}: retry-after ${asked} s is beyond maxResetWait (${maxWait} s); not waiting`,
      );
      return retryRequest(error, 0, backoff);
    }
    const wait = Math.max(asked, backoff);
    // The plugin counts the retries made so far there; past `retries` it will not retry.
    const retry = (Number(error.request.request?.retryCount) || 0) + 1;
    if (retry <= retries) {
      octokit.log.warn(
        `${request}: waiting ${wait} s (retry-after ${asked} s; retry ${retry} of ${retries})`,
      );
    }
    noteRetryWait(error, wait);
    return retryRequest(error, retries, wait);
  };
  return {};
}

/** The URL below the API root, as the throttling plugin's log lines show it. */
function shown(octokit: Octokit, url: string): string {
  const root = String(octokit.request.endpoint.DEFAULTS.baseUrl).replace(/\/$/, '');
  return url.startsWith(`${root}/`) ? url.slice(root.length) : url;
}
