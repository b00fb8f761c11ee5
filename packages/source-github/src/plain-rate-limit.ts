import type { Octokit } from '@octokit/core';
import { isHttpFailure, relabel } from './errors.js';
import { askedWait } from './rate-limit.js';

/** Request options of attempts answered by a plain 429: the throttling handlers' log says so. */
const plain = new WeakSet<object>();

/** Whether these request options (as the throttling plugin hands them over) met a plain 429. */
export const metPlain429 = (options: object): boolean => plain.has(options);

/**
 * An octokit plugin, to be applied before `throttling`, so that it sees every attempt's failure
 * first. @octokit/plugin-throttling knows a rate limit by GitHub's words ("secondary rate") or by
 * `x-ratelimit-remaining: 0`; any other 429 (a proxy's in front of GitHub Enterprise, with or
 * without `retry-after`) it left alone, and the unit failed at once. This hands such a 429 to the
 * plugin as a secondary limit, so `onSecondaryRateLimit` decides (within `maxResetWait` and
 * `secondaryRetries`), with the wait the response asks for in seconds: the plugin reads only a
 * number of seconds in `retry-after`, not an HTTP date nor `x-ratelimit-reset`; a `retry-after`
 * that is neither whole seconds nor an HTTP date is removed, so the plugin takes it as absent.
 */
export function plainRateLimits(octokit: Octokit): Record<string, never> {
  octokit.hook.wrap('request', async (request, options) => {
    try {
      return await request(options);
    } catch (error) {
      if (!isHttpFailure(error) || (error.status !== 403 && error.status !== 429)) throw error;
      const headers = error.response?.headers;
      if (!headers || headers['x-ratelimit-remaining'] === '0') throw error;
      const secondary = /\bsecondary rate\b/i.test(error.message);
      if (!secondary && error.status === 403) throw error;
      const seconds = askedWait(headers, new Date());
      // The plugin reads `retry-after` with Number(): `-5` or `1e400` would be a wait to it.
      if (seconds !== undefined) headers['retry-after'] = String(seconds);
      else delete headers['retry-after'];
      if (!secondary) {
        plain.add(options);
        relabel(error, `${error.message} (429: handled as a secondary rate limit)`);
      }
      throw error;
    }
  });
  return {};
}
