import {
  type Json,
  type Page,
  type RateLimitInfo,
  type Run,
  type Source,
  type SourceContext,
  UnitError,
  type UnitPlan,
  type UnitRead,
} from '@checkpointkit/core';
import type { Octokit } from '@octokit/core';
import type Bottleneck from 'bottleneck';
import { bareToken, createGithubClient, redactor, requestQueue, tokenId } from './client.js';
import { readReviewsCursor, readWalkCursor } from './cursor.js';
import {
  type GithubEndpoint,
  type GithubObject,
  listSpec,
  orgReposSpec,
  repoSpec,
} from './endpoints.js';
import { GithubResponseError, type RateLimitExhaustedError } from './errors.js';
import { endpointUnit, isRepoName, orgUnit, parseUnitKey, repoUnit } from './keys.js';
import { type GithubSourceOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Requester } from './requester.js';
import { walkReviews } from './reviews.js';
import { type WalkContext, walk } from './walk.js';

/** One collected object, with where it came from. */
export interface GithubRecord {
  /** `owner/name` of its repository (the current name, after a rename). */
  repository: string;
  /** The endpoint it came from; `repository` for the repositories themselves (discovery). */
  endpoint: GithubEndpoint | 'repository';
  /** For reviews: the number of the pull request reviewed. */
  pullNumber?: number;
  /** The object as GitHub returned it. */
  data: GithubObject;
}

/** A {@link Source} of GitHub records, with a signal that tells when it stopped on its own. */
export interface GithubSource extends Source<GithubRecord> {
  /**
   * Aborts when the primary rate limit ran out and its reset is further than `maxResetWait`:
   * pass it as the pipeline's `signal` so the pipeline stops after the page in flight, with
   * everything flushed. Its `reason` is a {@link RateLimitExhaustedError} ("resume after 14:32 UTC").
   */
  readonly signal: AbortSignal;
  /** HTTP requests made so far (answered ones; retries inside octokit count once). */
  readonly requests: number;
}

/**
 * A resumable GitHub REST source. Its units: the discovery of an organization's repositories
 * (`discover/<org>`, itself resumable page by page) or of each named repository
 * (`discover/<owner>/<name>`), then `repos/<owner>/<name>/<endpoint>` for each chosen endpoint,
 * planned as discovery finds them. After each page the cursor holds GitHub's next Link URL as
 * given, the first page's ETag and the watermark (see {@link WalkCursor}).
 *
 * Failures: 404, 410, 451 and 403 without a rate limit fail the unit (not retryable) and the
 * run goes on; 5xx, network errors and secondary limits are retryable; 409 (an empty repository)
 * completes the unit with no items; redirects (renamed repositories) are followed and recorded
 * in the checkpoint's meta as `moved:<unit>`.
 *
 * @example
 * const source = githubSource({ auth: process.env.GITHUB_TOKEN, org: 'acme', endpoints: ['pulls', 'issues'] });
 * await pipeline({ run, source, sink, signal: source.signal });
 */
export function githubSource(options: GithubSourceOptions): GithubSource {
  return new GithubRestSource(options, resolveOptions(options));
}

class GithubRestSource implements GithubSource {
  readonly #options: GithubSourceOptions;
  readonly #resolved: ResolvedOptions;
  readonly #octokit: Octokit;
  readonly #stop = new AbortController();
  readonly #requester: Requester;
  #redact: (text: string) => string;
  #token: string | undefined;
  #run: Run | undefined;

  constructor(options: GithubSourceOptions, resolved: ResolvedOptions) {
    this.#options = options;
    this.#resolved = resolved;
    const token = options.auth;
    this.#octokit = options.octokit ?? createGithubClient({ ...options, auth: token as string });
    this.#redact = redactor(token);
    this.#token = token === undefined ? undefined : bareToken(token);
    const queue: Bottleneck = requestQueue(
      token ? tokenId(token) : instanceKey(this.#octokit),
      resolved.concurrency,
    );
    this.#requester = new Requester({
      octokit: this.#octokit,
      queue,
      redact: (text) => this.#redact(text),
      now: options.now ?? (() => new Date()),
      onExhausted: (error) => this.#exhausted(error),
    });
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  get requests(): number {
    return this.#requester.requests;
  }

  async *units(context: SourceContext): AsyncIterable<UnitPlan> {
    const run = context.run;
    this.#run = run;
    if (!this.#options.auth) await this.#learnToken();
    const { discovery, endpoints } = this.#resolved;
    const keys = 'org' in discovery ? [orgUnit(discovery.org)] : discovery.repos.map(repoUnit);
    // Repositories found by earlier runs get the endpoints asked for now.
    const known = new Set<string>();
    for (const key of Object.keys(run.checkpoint.units)) {
      const target = parseUnitKey(key);
      if (target?.kind === 'endpoint') known.add(target.repo);
    }
    for (const repo of known)
      for (const endpoint of endpoints) keys.push(endpointUnit(repo, endpoint));
    if (this.#options.refresh) {
      for (const [key, unit] of Object.entries(run.checkpoint.units)) {
        if (unit.status !== 'complete' || !parseUnitKey(key)) continue;
        const cursor = unit.cursor;
        await run.reset(key, { keepCursor: true });
        if (cursor && typeof cursor === 'object' && !Array.isArray(cursor)) {
          await run.progress(key, { cursor: { ...cursor, refresh: true } });
        }
      }
    }
    for (const key of keys) yield { key };
  }

  async *read(unit: UnitRead, signal: AbortSignal): AsyncIterable<Page<GithubRecord>> {
    if (this.#stop.signal.aborted) throw this.#stop.signal.reason;
    const target = parseUnitKey(unit.key);
    if (!target)
      throw new UnitError(`unit "${unit.key}" is not a unit of source-github`, {
        retryable: false,
      });
    const context: WalkContext = {
      requester: this.#requester,
      signal: AbortSignal.any([signal, this.#stop.signal]),
      perPage: this.#resolved.perPage,
      since: this.#resolved.since,
      onMoved: (from, to) => this.#moved(unit.key, from, to),
    };
    const params = this.#options.params ?? {};
    try {
      switch (target.kind) {
        case 'org':
          yield* this.#discover(orgReposSpec(target.org, params.repos), unit, context, true);
          return;
        case 'repository':
          yield* this.#discover(repoSpec(target.repo), unit, context, false);
          return;
        case 'endpoint': {
          const { repo, endpoint } = target;
          if (endpoint === 'reviews') {
            const cursor = readReviewsCursor(unit.key, unit.cursor);
            for await (const page of walkReviews(repo, listSpec('pulls', repo), cursor, context)) {
              const items = page.items.map(({ pullNumber, review }) => ({
                repository: repo,
                endpoint,
                pullNumber,
                data: review,
              }));
              yield this.#page(unit.key, items, page);
            }
            return;
          }
          const spec = listSpec(endpoint, repo, params[endpoint]);
          for await (const page of walk(spec, readWalkCursor(unit.key, unit.cursor), context)) {
            const items = page.items.map((data) => ({ repository: repo, endpoint, data }));
            yield this.#page(unit.key, items, page);
          }
          return;
        }
      }
    } catch (error) {
      // Stopped by an exhausted rate limit while this read waited: report that, not the abort.
      if (this.#stop.signal.aborted && !signal.aborted) throw this.#stop.signal.reason;
      throw error;
    }
  }

  /** Discovery: delivers repositories as records and plans their endpoint units first. */
  async *#discover(
    spec: ReturnType<typeof repoSpec>,
    unit: UnitRead,
    context: WalkContext,
    filtered: boolean,
  ): AsyncIterable<Page<GithubRecord>> {
    const run = this.#requireRun(unit.key);
    const filter = filtered ? this.#options.filter : undefined;
    for await (const page of walk(spec, readWalkCursor(unit.key, unit.cursor), context)) {
      const repos = page.items.filter(
        (repo) => isRepoName(String(repo['full_name'])) && (filter ? filter(repo) : true),
      );
      // A name becomes a unit key: one holding the token would carry it into the checkpoint.
      for (const repo of repos) this.#refuseEcho(unit.key, 'full_name', repo['full_name']);
      // Planned before the page is handed over: its cursor is never saved ahead of its units.
      await run.plan(
        repos.flatMap((repo) =>
          this.#resolved.endpoints.map((endpoint) =>
            endpointUnit(String(repo['full_name']), endpoint),
          ),
        ),
      );
      const items = repos.map((data) => ({
        repository: String(data['full_name']),
        endpoint: 'repository' as const,
        data,
      }));
      yield this.#page(unit.key, items, page);
    }
  }

  /**
   * The page as the run records it. GitHub's answers fill the cursor (Link URL, ETag, ids,
   * times): a server that echoes the token into any of them fails the unit instead of having
   * the token recorded.
   */
  #page(
    key: string,
    items: GithubRecord[],
    page: { cursor: object; rateLimit: RateLimitInfo | undefined },
  ): Page<GithubRecord> {
    for (const [field, value] of Object.entries(page.cursor)) {
      this.#refuseEcho(key, `cursor.${field}`, value);
    }
    const cursor = toJson(page.cursor);
    return page.rateLimit ? { items, cursor, rateLimit: page.rateLimit } : { items, cursor };
  }

  #refuseEcho(key: string, field: string, value: unknown): void {
    // GitHub's tokens are 40 characters and more; a test's `auth: 'x'` is no secret, and
    // looking for it would refuse every URL holding that letter.
    if ((this.#token?.length ?? 0) < 8) return;
    const text = JSON.stringify(value) ?? '';
    if (this.#redact(text) === text) return;
    throw new GithubResponseError(
      `unit "${key}"`,
      field,
      `GitHub echoed the token into ${field}; the page is not recorded`,
      { retryable: false },
    );
  }

  async #moved(key: string, from: string, to: string): Promise<void> {
    // A redirect's target is the server's to choose: it may hold the token.
    const path = (url: string) => this.#redact(new URL(url).pathname);
    this.#octokit.log.warn(
      `${key}: GitHub moved ${path(from)} to ${path(to)} (renamed or transferred); following`,
    );
    const run = this.#requireRun(key);
    await run.setMeta(`moved:${key}`, { from: path(from), to: path(to) });
    await run.count('redirects');
  }

  #exhausted(error: RateLimitExhaustedError): void {
    this.#octokit.log.warn(error.message);
    if (!this.#stop.signal.aborted) this.#stop.abort(error);
  }

  #requireRun(key: string): Run {
    if (!this.#run) {
      throw new UnitError(
        `unit "${key}": units() was not called before read() (pipeline() calls it)`,
        {
          retryable: false,
        },
      );
    }
    return this.#run;
  }

  /** With an octokit of the caller's, learn its token (when it has one) to keep it out of messages. */
  async #learnToken(): Promise<void> {
    try {
      const auth = (await (this.#octokit.auth as () => Promise<unknown>)()) as
        | { token?: unknown }
        | undefined;
      if (auth && typeof auth.token === 'string' && auth.token) {
        this.#redact = redactor(auth.token);
        this.#token = auth.token;
      }
    } catch {
      // An auth strategy that needs arguments: nothing to learn.
    }
  }
}

const instances = new WeakMap<object, string>();
let instanceCount = 0;

/** A queue key per octokit instance, when the source does not know the token. */
function instanceKey(octokit: Octokit): string {
  let key = instances.get(octokit);
  if (!key) {
    key = `octokit-${++instanceCount}`;
    instances.set(octokit, key);
  }
  return key;
}

const toJson = (cursor: object): Json => cursor as unknown as Json;
