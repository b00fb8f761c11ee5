import type { Octokit } from '@octokit/core';
import { checkAuthToken } from './auth-token.js';
import type { GithubClientOptions } from './client.js';
import {
  ENDPOINTS,
  type GithubEndpoint,
  type GithubObject,
  type QueryParams,
} from './endpoints.js';
import { GithubSourceConfigError } from './errors.js';
import { isOrgName, isRepoName } from './keys.js';

/** Options of {@link githubSource}. Give `auth` or `octokit`, and `org` or `repos`. */
export interface GithubSourceOptions extends Omit<GithubClientOptions, 'auth'> {
  /**
   * A token; the source builds its own octokit with throttling and retry. Never stored or logged.
   * Given as it is: one word of printable ASCII, optionally after octokit's `token ` or `bearer `
   * prefix. A newline, surrounding whitespace, a control or non-ASCII character is refused.
   */
  auth?: string;
  /**
   * An octokit of your own (GitHub App auth, a proxy...). Build it with the throttling and retry
   * plugins (or use {@link createGithubClient}): the client options here are then ignored.
   */
  octokit?: Octokit;
  /** An organization: its repositories are discovered (unit `discover/<org>`), then collected. */
  org?: string;
  /** Repositories as `owner/name`: each is looked up (unit `discover/<owner>/<name>`, renames followed). */
  repos?: readonly string[];
  /** What to collect from each repository. */
  endpoints: readonly GithubEndpoint[];
  /** Only what was updated at or after this time (sent as `since` where GitHub supports it). */
  since?: string | Date;
  /** Items per page, 1 to 100. Default 100. */
  perPage?: number;
  /**
   * Query parameters that replace the defaults of an endpoint (`repos` for the org listing).
   * Defaults: `state=all&sort=updated&direction=desc` where GitHub supports them. A list not
   * sorted newest update first cannot stop a refresh early, so it is re-read whole.
   */
  params?: Partial<Record<GithubEndpoint | 'repos', QueryParams>>;
  /** Which of an organization's repositories to collect. Default: all. */
  filter?: (repository: GithubObject) => boolean;
  /**
   * Re-read completed units for what changed since: each re-reads its first page with
   * If-None-Match (a 304 costs no rate limit) and stops at items older than its watermark.
   */
  refresh?: boolean;
  /** Requests in flight at once per token. Default 1 (serial). */
  concurrency?: number;
  /** The clock used in messages ("resume after 14:32 UTC"). */
  now?: () => Date;
}

export interface ResolvedOptions {
  discovery: { org: string } | { repos: string[] };
  endpoints: GithubEndpoint[];
  since: string | null;
  perPage: number;
  concurrency: number;
}

/** Checks the options; a wrong one is a {@link GithubSourceConfigError} naming it. */
export function resolveOptions(options: GithubSourceOptions): ResolvedOptions {
  // Checked first, so that `auth: process.env.GITHUB_TOKEN!` with the variable unset says so,
  // rather than that neither "auth" nor "octokit" was given.
  if (options.octokit === undefined && 'auth' in options) checkAuthToken(options.auth);
  if ((options.auth === undefined) === (options.octokit === undefined)) {
    throw new GithubSourceConfigError('auth', 'or "octokit": give exactly one of them');
  }
  if (options.baseUrl !== undefined) checkBaseUrl(options.baseUrl);
  if ((options.org === undefined) === (options.repos === undefined)) {
    throw new GithubSourceConfigError('org', 'or "repos": give exactly one of them');
  }
  if (options.org !== undefined && !isOrgName(options.org)) {
    throw new GithubSourceConfigError('org', `"${options.org}" is not an organization name`);
  }
  const repos = options.repos ? [...options.repos] : undefined;
  if (repos && repos.length === 0) throw new GithubSourceConfigError('repos', 'is empty');
  const badRepo = repos?.find((repo) => !isRepoName(repo));
  if (badRepo !== undefined) {
    throw new GithubSourceConfigError('repos', `holds "${badRepo}", which is not "owner/name"`);
  }
  // A plain-JavaScript caller's string or missing list failed with a TypeError.
  if (!Array.isArray(options.endpoints)) {
    throw new GithubSourceConfigError(
      'endpoints',
      `must be a list among ${ENDPOINTS.join(', ')}, got ${typeof options.endpoints}`,
    );
  }
  const badEndpoint = options.endpoints.find((e) => !ENDPOINTS.includes(e));
  if (badEndpoint !== undefined) {
    throw new GithubSourceConfigError(
      'endpoints',
      `holds "${badEndpoint}"; choose among ${ENDPOINTS.join(', ')}`,
    );
  }
  const perPage = options.perPage ?? 100;
  if (!(Number.isInteger(perPage) && perPage >= 1 && perPage <= 100)) {
    throw new GithubSourceConfigError(
      'perPage',
      `must be a whole number from 1 to 100, got ${perPage}`,
    );
  }
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new GithubSourceConfigError(
      'concurrency',
      `must be a whole number >= 1, got ${concurrency}`,
    );
  }
  return {
    discovery: options.org !== undefined ? { org: options.org } : { repos: repos ?? [] },
    endpoints: [...new Set(options.endpoints)],
    since: options.since === undefined ? null : isoSince(options.since),
    perPage,
    concurrency,
  };
}

/** `since` as GitHub writes times: `2024-05-01T12:00:00Z`. */
function isoSince(value: string | Date): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new GithubSourceConfigError('since', `is not a date: ${String(value)}`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A GitHub Enterprise API URL: absolute, and without credentials, which it would carry into every error. */
function checkBaseUrl(value: unknown): void {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new GithubSourceConfigError('baseUrl', 'is not an absolute URL');
  }
  if (url.username || url.password)
    throw new GithubSourceConfigError(
      'baseUrl',
      'must not carry credentials (user:password@): give the token as auth',
    );
}
