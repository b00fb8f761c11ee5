import { createHash } from 'node:crypto';
import { Octokit } from '@octokit/core';
import { type RetryPlugin, retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck';
import {
  type AbortableWaitsOptions,
  abortableWaits,
  signalOf,
  waitOrStop,
} from './abortable-waits.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readWithin } from './body.js';
import { checkClientOptions } from './client-options.js';
import { metPlain429, plainRateLimits } from './plain-rate-limit.js';
import { DEFAULT_MAX_RESET_WAIT, serverRetryAfter } from './server-retry-after.js';

/** Where the source writes what it does (waits, renames); octokit's own `log` shape. */
export interface GithubLog {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

/** Options of {@link createGithubClient}. Every wait is in seconds of GitHub's clock. */
export interface GithubClientOptions {
  /**
   * A personal access token or an installation token. Never written anywhere. One word of
   * printable ASCII, optionally after a `token ` or `bearer ` prefix; anything else (a newline,
   * surrounding whitespace, a control or non-ASCII character) is a `GithubSourceConfigError`.
   */
  auth: string;
  /** The REST API root. Default `https://api.github.com` (GitHub Enterprise: `https://host/api/v3`). */
  baseUrl?: string;
  userAgent?: string;
  /** Default: warnings and errors to the console. */
  log?: GithubLog;
  /** A fetch of your own (a proxy agent, a recorder, a simulator). Default: the global fetch. */
  fetch?: typeof globalThis.fetch;
  /**
   * Milliseconds one attempt may take before it counts as a network error (retried, then
   * retryable). Waits for rate limits are not attempts. Default 60000.
   */
  timeout?: number;
  /**
   * Bytes one response's body may hold (after decompression); past it the attempt fails as a
   * network error. Default 100 MiB.
   */
  maxResponseBytes?: number;
  /**
   * When the primary rate limit runs out, wait for its reset if that is at most this many
   * seconds away; otherwise give up (the source then stops with "resume after HH:MM"). A
   * `retry-after` beyond it (of a secondary limit, a 429 or a 5xx) is not waited for either.
   * Default 900 (15 minutes).
   */
  maxResetWait?: number;
  /** Retries of a request hit by a secondary rate limit. Default 3. */
  secondaryRetries?: number;
  /**
   * Retries of a request that failed with a 5xx or a network error, after a backoff of 1, 4, 9...
   * seconds, or the response's `retry-after` when that is longer. Default 3.
   */
  retries?: number;
  /**
   * Milliseconds waited per second of `retry-after` (or of backoff). Default 1000; tests set 1 to
   * run the real waiting code without waiting.
   */
  retryAfterBaseMs?: number;
}

/**
 * Octokit with the throttling and retry plugins: every wait and retry is theirs. A 429 without
 * GitHub's "secondary rate limit" message (a proxy's) reaches the throttling plugin as one, and
 * the retry plugin waits at least a 5xx's `retry-after` (at most the `serverRetryAfter.maxWait`
 * option, default 900 s, else it does not retry). Given the `abortableWaits` option (as
 * {@link createGithubClient} gives it), the plugins' waits end when the request's signal aborts.
 */
export const GithubOctokit: GithubOctokitClass = Octokit.plugin(
  plainRateLimits,
  throttling,
  abortableWaits,
  retry,
  serverRetryAfter,
);
export type GithubOctokit = InstanceType<typeof GithubOctokit>;

/**
 * The type `Octokit.plugin` gives, written out: inferred, the declarations named its
 * `Constructor` through `@octokit/core/types`, a subpath TypeScript's `moduleResolution: node10`
 * (a `module: commonjs` project's default) cannot find, which failed such a project's `tsc`.
 */
type GithubOctokitClass = typeof Octokit & Constructor<Record<string, never> & RetryPlugin>;
/** `@octokit/core/types`' own `Constructor`. */
// biome-ignore lint/suspicious/noExplicitAny: octokit's Constructor<T> takes any[], as mixins must.
type Constructor<T> = new (...args: any[]) => T;

/** Statuses the retry plugin leaves alone: client errors, and 409 (an empty repository). */
const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 429, 451];

/** How the plugins' waits read in a log line. */
const describe = (options: { method?: string; url?: string }) => `${options.method} ${options.url}`;

/**
 * An octokit for collecting: primary rate limits are waited out when the reset is near
 * (`maxResetWait`), secondary limits honour `retry-after` (60 s when absent) a bounded number of
 * times, and 5xx or network errors are retried with backoff (at least their `retry-after`, within
 * `maxResetWait`).
 */
export function createGithubClient(options: GithubClientOptions): GithubOctokit {
  checkClientOptions(options);
  const log = redactingLog(options.log ?? consoleLog, options.auth);
  const maxResetWait = options.maxResetWait ?? DEFAULT_MAX_RESET_WAIT;
  const secondaryRetries = options.secondaryRetries ?? 3;
  const base = options.retryAfterBaseMs ?? 1000;
  return new GithubOctokit({
    auth: options.auth,
    // Octokit appends paths to it as given: `/api/v3/` made every request `/api/v3//repos/...`,
    // and then no Link GitHub gave was taken for the same list.
    ...(options.baseUrl && { baseUrl: options.baseUrl.replace(/\/+$/, '') }),
    userAgent: options.userAgent ?? 'checkpointkit-source-github',
    log,
    request: {
      fetch: withTimeout(
        options.fetch ?? globalThis.fetch,
        options.timeout ?? 60_000,
        options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      ),
    },
    throttle: {
      id: tokenId(options.auth),
      // Waited by the handlers, on the request's signal (see below).
      retryAfterBaseValue: 0,
      fallbackSecondaryRateRetryAfter: 60,
      onRateLimit: (retryAfter, request, _octokit, retryCount) => {
        if (retryCount >= 1 || !(retryAfter <= maxResetWait)) {
          log.warn(
            `rate limit exhausted on ${describe(request)}: reset in ${retryAfter} s, not waiting`,
          );
          return false;
        }
        log.warn(
          `rate limit exhausted on ${describe(request)}: waiting ${retryAfter} s for the reset`,
        );
        return waitOrStop(retryAfter * base, signalOf(request));
      },
      onSecondaryRateLimit: (retryAfter, request, _octokit, retryCount) => {
        const limit = metPlain429(request) ? 'rate limit (429)' : 'secondary rate limit';
        // retry-after is the server's: days away it would hold every request of the token that
        // long, and past a timer's limit (or Infinity) Node fires the wait at once.
        if (!(retryAfter <= maxResetWait)) {
          log.warn(
            `${limit} on ${describe(request)}: retry-after ${retryAfter} s is beyond maxResetWait (${maxResetWait} s); not waiting`,
          );
          return false;
        }
        if (retryCount >= secondaryRetries) {
          log.warn(`${limit} on ${describe(request)}: giving up after ${retryCount} retries`);
          return false;
        }
        log.warn(
          `${limit} on ${describe(request)}: waiting ${retryAfter} s (retry ${retryCount + 1} of ${secondaryRetries})`,
        );
        return waitOrStop(retryAfter * base, signalOf(request));
      },
    },
    // The plugins' own waits (Bottleneck timers) cannot be stopped: made 0, and waited instead by
    // the handlers above and the abortableWaits plugin, on the request's signal. See
    // abortable-waits.ts for why this goes through their options rather than a fork.
    retry: { doNotRetry: DO_NOT_RETRY, retries: options.retries ?? 3, retryAfterBaseValue: 0 },
    abortableWaits: { baseMs: base } satisfies AbortableWaitsOptions,
    serverRetryAfter: { maxWait: maxResetWait },
  });
}

/**
 * Gives every attempt its own deadline, on top of the caller's signal, for the headers and the
 * whole body, and reads at most `maxBytes` of the body.
 */
function withTimeout(
  fetch: typeof globalThis.fetch,
  ms: number,
  maxBytes: number,
): typeof globalThis.fetch {
  return async (input, init) => {
    const deadline = AbortSignal.timeout(ms);
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    return readWithin(await fetch(input, { ...init, signal }), maxBytes);
  };
}

const consoleLog: GithubLog = {
  debug: () => {},
  info: () => {},
  warn: (message, ...rest) => console.warn(message, ...rest),
  error: (message, ...rest) => console.error(message, ...rest),
};

/**
 * The token as it goes over the wire: @octokit/auth-token strips a leading `token ` or `bearer `,
 * and fetch drops the whitespace around a header value (a token file's newline). Redacting only
 * what was given missed that bare token when a server echoed it.
 */
export function bareToken(token: string): string {
  return token.trim().replace(/^(token|bearer) +/i, '') || token;
}

/** Replaces every occurrence of the token, as it is sent (see {@link bareToken}), by `[REDACTED]`. */
export function redactor(token: string | undefined): (text: string) => string {
  if (!token) return (text) => text;
  const secret = bareToken(token);
  return (text) => text.split(secret).join('[REDACTED]');
}

/** A log that never writes the token, whatever a plugin hands it. */
export function redactingLog(log: GithubLog, token: string | undefined): GithubLog {
  const redact = redactor(token);
  const clean = (value: unknown): unknown =>
    typeof value === 'string'
      ? redact(value)
      : value instanceof Error
        ? redact(value.message)
        : '[object]';
  const wrap =
    (write: GithubLog['warn']) =>
    (message: string, ...rest: unknown[]) =>
      write(redact(String(message)), ...rest.map(clean));
  return {
    debug: wrap(log.debug),
    info: wrap(log.info),
    warn: wrap(log.warn),
    error: wrap(log.error),
  };
}

/** A stable id for a token that does not reveal it: the key its requests are serialized under. */
export function tokenId(token: string): string {
  // The same token with or without its prefix is one rate limit, so one queue.
  return `token-${createHash('sha256').update(bareToken(token)).digest('hex').slice(0, 16)}`;
}

const queues = new Map<number, Bottleneck.Group>();

/**
 * The queue that requests made with one token go through: at most `concurrency` at once, waits
 * and retries included, so a rate-limit wait holds back every request of that token.
 */
export function requestQueue(key: string, concurrency: number): Bottleneck {
  let group = queues.get(concurrency);
  if (!group) {
    group = new Bottleneck.Group({ maxConcurrent: concurrency });
    queues.set(concurrency, group);
  }
  return group.key(key);
}
