import { setTimeout as sleep } from 'node:timers/promises';
import type { Octokit, OctokitOptions } from '@octokit/core';

/*
 * Waits of @octokit/plugin-retry and @octokit/plugin-throttling that end when the request's
 * signal aborts. Both plugins wait with a Bottleneck timer (the ms their `failed` handler
 * returns) that knows nothing of the signal: a job stopped (`run.close()`, Ctrl+C, the pipeline's
 * signal) during a rate-limit wait of 15 minutes went on waiting those 15 minutes, and then sent
 * the request anyway. Neither plugin takes a signal, so, without forking them:
 *
 * - their own waits are made 0 (`retryAfterBaseValue: 0` in both plugins' options, as
 *   `createGithubClient` sets them), and the waits happen here, on the request's signal;
 * - throttling: the `onRateLimit` / `onSecondaryRateLimit` handlers wait ({@link waitOrStop})
 *   before they answer; the plugin awaits a handler that returns a promise (its events are
 *   Bottleneck's, whose `trigger` awaits listeners), and an aborted wait answers "no retry".
 *   Its types say the handlers return void: a version that stopped awaiting would take the
 *   promise for "retry" and retry at once, which test/integration/abort-waits.test.ts catches
 *   (one request only while waiting);
 * - retry: the plugin asks `octokit.retry.retryRequest(error, retries, retryAfter)` for every
 *   retry; {@link noteRetryWait} (called by the `serverRetryAfter` plugin, which wraps that
 *   method) keeps the wait for the error, and this plugin's request hook, inside the retry
 *   plugin's, sees that error fail an attempt and waits before the next attempt of the request.
 *
 * Only an octokit given the `abortableWaits` option waits here: one built from `GithubOctokit`
 * without it keeps the plugins' own waits (set the plugins' `retryAfterBaseValue` to 0 only
 * together with this option, or nothing waits at all).
 */

/** The `abortableWaits` option of an octokit built from `GithubOctokit`. */
export interface AbortableWaitsOptions {
  /** Milliseconds waited per second of a wait (the plugins' `retryAfterBaseValue`). */
  baseMs: number;
}

/** Seconds the retry plugin was asked to wait before retrying after this error. */
const retryWaits = new WeakMap<object, number>();

/** Records that the retry plugin will retry after `error` once `seconds` have passed. */
export function noteRetryWait(error: unknown, seconds: number): void {
  if (typeof error === 'object' && error !== null) retryWaits.set(error, seconds);
}

/**
 * Waits `ms`, or less when `signal` aborts: true after the whole wait, false when stopped. No
 * signal (an octokit request made without one) waits the whole time.
 */
export async function waitOrStop(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
    return true;
  } catch (error) {
    if (signal?.aborted) return false;
    throw error;
  }
}

/** The request's signal, as octokit's `request.signal` option carries it. */
export function signalOf(options: { request?: { signal?: unknown } }): AbortSignal | undefined {
  const signal = options.request?.signal;
  return signal instanceof AbortSignal ? signal : undefined;
}

/**
 * An octokit plugin, to be applied after `throttling` and before `retry` (see above): waits
 * before a retried attempt, and throws the signal's reason when the signal aborts meanwhile.
 */
export function abortableWaits(octokit: Octokit, options: OctokitOptions): Record<string, never> {
  const given: AbortableWaitsOptions | undefined = options['abortableWaits'];
  if (!given) return {};
  // The error that failed a request's last attempt, by the request's options: the retry plugin
  // runs every attempt of one request with the same options object.
  const failed = new WeakMap<object, object>();
  octokit.hook.wrap('request', async (request, endpoint) => {
    const last = failed.get(endpoint);
    failed.delete(endpoint);
    const seconds = last === undefined ? undefined : retryWaits.get(last);
    const signal = signalOf(endpoint);
    if (seconds !== undefined && !(await waitOrStop(seconds * given.baseMs, signal)))
      throw signal?.reason;
    try {
      return await request(endpoint);
    } catch (error) {
      if (typeof error === 'object' && error !== null) failed.set(endpoint, error);
      throw error;
    }
  });
  return {};
}
