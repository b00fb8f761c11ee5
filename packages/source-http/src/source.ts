import {
  AuthenticationError,
  type Json,
  type Page,
  type Run,
  type Source,
  type SourceContext,
  type UnitPlan,
  type UnitRead,
} from '@checkpointkit/core';
import { checkAuth, cursorUrl, describeAuth, stripAuth } from './auth.js';
import { headersOption, optionalFunction, optionalMethods, wholeNumber } from './checks.js';
import {
  HttpAuthError,
  HttpBodyError,
  HttpCursorError,
  HttpRequestError,
  HttpSourceConfigError,
  type PageLocation,
  scrubbed,
} from './errors.js';
import { LoopGuard, type Repeat } from './loop-guard.js';
import type { HttpRecord, HttpSourceOptions } from './options.js';
import { kind, LinkHeaderError, linkHeader, PointerError } from './paginators.js';
import { isMissing, resolvePointer } from './pointer.js';
import { withoutUserInfo } from './redirects.js';
import { Requester } from './requester.js';
import {
  firstUrl,
  parseUnit,
  type ResolvedResource,
  resolveResources,
  unitKey,
} from './resources.js';

/** The cursor saved after each page: the next page's URL (no credentials in it), `null` after the last. */
export interface HttpCursor {
  next: string | null;
}

/** A {@link Source} of records from a REST API, with what a job needs around it. */
export interface HttpSource extends Source<HttpRecord> {
  /**
   * Aborts with an {@link HttpAuthError} when the API refuses the credentials: pass it as the
   * pipeline's `signal` so the run stops after the page in flight instead of failing every unit.
   */
  readonly signal: AbortSignal;
  /** The options without secrets, for `openRun({ config })`: a changed API setup is caught on resume. */
  readonly config: Json;
  /** HTTP requests made so far, each retry counted. */
  readonly requests: number;
  /** Of those, the ones answered `304 Not Modified`, whose page came from the `cache`. */
  readonly notModified: number;
}

/**
 * A resumable source over a paginated REST API, from config. One unit per top-level resource
 * (its name), and one per record of a parent for a child resource (`comments/17`), planned
 * before the parent's page is acknowledged. After each page the cursor holds the next page's URL,
 * so a resumed run fetches exactly the page after the last one saved.
 *
 * @example
 * const source = httpSource({
 *   baseUrl: 'https://api.example.com',
 *   auth: { type: 'bearer', token: process.env.API_TOKEN! },
 *   paginator: bodyCursor({ pointer: '/meta/next_cursor', param: 'cursor' }),
 *   resources: [{ name: 'posts', path: '/posts', records: '/data',
 *     children: [{ name: 'comments', path: '/posts/{id}/comments', records: '/data' }] }],
 * });
 * const run = await openRun({ id: 'example-api', store: fileStore(), config: source.config });
 * await pipeline({ run, source, sink, signal: source.signal });
 */
export function httpSource(options: HttpSourceOptions): HttpSource {
  return new HttpRestSource(options);
}

class HttpRestSource implements HttpSource {
  readonly #options: HttpSourceOptions;
  readonly #resources: Map<string, ResolvedResource>;
  readonly #requester: Requester;
  readonly #stop = new AbortController();
  readonly config: Json;
  /** The API's origin: the only one a page is fetched from, so the only one given credentials. */
  readonly #origin: string;
  #run: Run | undefined;

  constructor(options: HttpSourceOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new HttpSourceConfigError('baseUrl', 'is not an absolute URL');
    }
    // Credentials in the URL are sent nowhere, and every page URL in a message would carry them.
    // A URL the source cannot GET (file:, data:) failed every run as a retryable network error.
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new HttpSourceConfigError(
        'baseUrl',
        `must be an http: or https: URL (got ${base.protocol})`,
      );
    if (base.username || base.password)
      throw new HttpSourceConfigError(
        'baseUrl',
        'must not carry credentials (user:password@): use auth: { type: "basic", username, password }',
      );
    // Page paths resolve against the base, which drops its query and fragment: a key put there
    // was silently never sent. Not shown: a query is where keys go.
    if (base.search || base.hash)
      throw new HttpSourceConfigError(
        'baseUrl',
        `must not have a ${base.search ? 'query' : 'fragment'}: page paths replace it; put parameters in a resource's params, a key in auth: { type: "query", ... }`,
      );
    checkAuth(options.auth);
    const headers = headersOption(options.headers);
    optionalFunction('onRateLimit', options.onRateLimit);
    optionalFunction('now', options.now);
    optionalMethods('cache', options.cache, ['get', 'set']);
    optionalMethods('paginator', options.paginator, ['next']);
    optionalMethods('dispatcher', options.dispatcher, ['dispatch']);
    this.#options = options;
    this.#origin = base.origin;
    const paginator = options.paginator ?? linkHeader();
    this.#resources = resolveResources(options, paginator);
    this.#requester = new Requester({
      auth: options.auth,
      headers,
      retries: wholeNumber('retries', options.retries ?? 4, 0),
      maxRetryDelay: wholeNumber('maxRetryDelay', options.maxRetryDelay ?? 60_000, 0, MAX_TIMER_MS),
      maxPageBytes: wholeNumber('maxPageBytes', options.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES, 1),
      timeout: wholeNumber('timeout', options.timeout ?? DEFAULT_TIMEOUT_MS, 1, MAX_TIMER_MS),
      dispatcher: options.dispatcher,
      now: options.now ?? (() => new Date()),
      onRateLimit: options.onRateLimit,
      cache: options.cache,
    });
    this.config = {
      // A secret pasted into the base URL is still a secret.
      baseUrl: this.#requester.redact(stripAuth(options.auth, new URL(options.baseUrl)).href),
      auth: describeAuth(options.auth),
      paginator: paginator.describe,
      resources: [...this.#resources.values()].map((r) => ({
        name: r.name,
        parent: r.parent,
        path: r.path,
        params: r.params as Json,
        records: r.records,
        paginator: r.paginator.describe,
      })),
    };
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  get requests(): number {
    return this.#requester.requests;
  }

  get notModified(): number {
    return this.#requester.notModified;
  }

  units(context: SourceContext): UnitPlan[] {
    this.#run = context.run;
    return [...this.#resources.values()]
      .filter((r) => r.parent === null)
      .map((r) => ({ key: r.name }));
  }

  async *read(unit: UnitRead, signal: AbortSignal): AsyncIterable<Page<HttpRecord>> {
    try {
      yield* this.#pages(unit, signal);
    } catch (error) {
      // The user's paginator, cache or auth code may quote a secret: never recorded or logged.
      throw scrubbed(error, this.#requester.redact);
    }
  }

  async *#pages(unit: UnitRead, signal: AbortSignal): AsyncIterable<Page<HttpRecord>> {
    if (this.#stop.signal.aborted) throw this.#stop.signal.reason;
    const target = parseUnit(unit.key, this.#resources);
    if (!target)
      throw new HttpCursorError(
        unit.key,
        'belongs to a unit this source does not have (was a resource removed?)',
      );
    const { resource, values } = target;
    let url: URL | null = this.#startUrl(unit, resource, values);
    const loops = new LoopGuard();
    while (url) {
      const redacted = this.#requester.redact(url.href);
      const at: PageLocation = { resource: resource.name, unit: unit.key, url: redacted };
      let fetched: Awaited<ReturnType<Requester['get']>>;
      try {
        // The pipeline's signal only: given `source.signal`, the pipeline aborts it when the source
        // stops; a composite signal per read made every request measurably slower.
        fetched = await this.#requester.get(at, url, signal);
      } catch (error) {
        // Past the last page: an API that answers so (Django REST Framework's "Invalid page.")
        // ends the list where the paginator says the page before may have been the last.
        if (
          error instanceof HttpRequestError &&
          error.status === 404 &&
          resource.paginator.endsOnNotFound?.(url) === true
        ) {
          const cursor: HttpCursor = { next: null };
          yield { items: [], cursor: cursor as unknown as Json };
          return;
        }
        // An HttpAuthError, or what a custom auth.apply threw as credentials refused.
        if (error instanceof AuthenticationError && !this.#stop.signal.aborted)
          this.#stop.abort(error);
        throw error;
      }
      if (fetched.noContent) {
        // No body to read a next page from; and a Link header beside "nothing here" is not
        // worth following: an API that answers 204 says the list is over.
        const cursor: HttpCursor = { next: null };
        const done = { items: [], cursor: cursor as unknown as Json };
        yield fetched.rateLimit ? { ...done, rateLimit: fetched.rateLimit } : done;
        return;
      }
      const records = resolvePointer(fetched.body, resource.records);
      if (isMissing(records))
        throw new HttpBodyError(at, resource.records, 'the body has no such field');
      if (!Array.isArray(records))
        throw new HttpBodyError(
          at,
          resource.records,
          `expected an array of records, found ${kind(records)}`,
        );
      const repeat = loops.page(url, records, redacted);
      if (repeat) throw repeated(at, repeat, resource.paginator.describe);
      let next: URL | null;
      try {
        next = resource.paginator.next({
          url,
          headers: fetched.headers,
          body: fetched.body,
          records,
        });
      } catch (error) {
        if (error instanceof PointerError)
          throw new HttpBodyError(at, error.pointer, error.message);
        if (error instanceof LinkHeaderError) throw new HttpBodyError(at, undefined, error.message);
        throw error;
      }
      // Planned before the page is handed over: its cursor is never saved ahead of its children.
      if (resource.children.length > 0) await this.#planChildren(at, resource, records);
      // `user:password@` in a link is not on the URL's origin, so would be followed, saved in the
      // checkpoint and shown in messages: refused, as for baseUrl (fetch refuses such URLs too).
      if (next && (next.username || next.password))
        throw new HttpBodyError(
          at,
          undefined,
          `the next page's URL (${this.#requester.redact(withoutUserInfo(next))}) carries user info (user:password@), so it is not followed or saved`,
        );
      // A next page elsewhere (another host, file:, data:) would get the credentials, or a cursor
      // no run can follow: refused before it is followed or saved.
      if (next && next.origin !== this.#origin)
        throw new HttpBodyError(
          at,
          undefined,
          `the next page's URL (${this.#requester.redact(next.href)}) is not on the API's origin (${this.#origin}), so it is not followed`,
        );
      if (next) {
        const saved = cursorUrl(this.#options.auth, next, this.#requester.redact);
        if (!saved)
          throw new HttpBodyError(
            at,
            undefined,
            `the next page's URL (${this.#requester.redact(next.href)}) holds a credential outside its query, so it cannot be saved in a checkpoint`,
          );
        next = saved;
        if (records.length === 0 && loops.emptyAlready(next))
          throw new HttpBodyError(
            at,
            undefined,
            `the API answered with an empty page whose next page (${this.#requester.redact(next.href)}) is an empty page already read, so paging would go round for ever`,
          );
      }
      const cursor: HttpCursor = { next: next ? next.href : null };
      const items = records.map((data) => ({ resource: resource.name, unit: unit.key, data }));
      yield fetched.rateLimit
        ? { items, cursor: cursor as unknown as Json, rateLimit: fetched.rateLimit }
        : { items, cursor: cursor as unknown as Json };
      url = next;
    }
  }

  #startUrl(unit: UnitRead, resource: ResolvedResource, values: string[]): URL | null {
    if (unit.cursor === null) return firstUrl(this.#options.baseUrl, resource, values);
    const cursor = unit.cursor as Partial<HttpCursor>;
    if (typeof cursor !== 'object' || Array.isArray(cursor) || !('next' in cursor))
      throw new HttpCursorError(unit.key, 'is not an httpSource cursor ({ next })');
    if (cursor.next === null) return null;
    let url: URL;
    try {
      url = new URL(String(cursor.next));
    } catch {
      throw new HttpCursorError(unit.key, 'holds a next URL that is not a URL');
    }
    if (url.username || url.password)
      throw new HttpCursorError(unit.key, 'holds a next URL with user info (user:password@)');
    if (url.origin !== this.#origin)
      throw new HttpCursorError(
        unit.key,
        `holds a next URL that is not on the API's origin (${this.#origin})`,
      );
    return url;
  }

  async #planChildren(
    at: PageLocation,
    resource: ResolvedResource,
    records: unknown[],
  ): Promise<void> {
    if (!this.#run)
      throw new HttpCursorError(at.unit, 'was read before units() (pipeline() calls it)');
    const plans: UnitPlan[] = [];
    for (const record of records) {
      for (const child of resource.children) {
        const values = child.fields.map((field) => {
          const value = resolvePointer(
            record,
            `/${field.replaceAll('~', '~0').replaceAll('/', '~1')}`,
          );
          if (typeof value !== 'string' && typeof value !== 'number')
            throw new HttpBodyError(
              at,
              `${resource.records}/*/${field}`,
              `child "${child.name}" needs a string or number, found ${isMissing(value) ? 'nothing' : kind(value)}`,
            );
          const segment = String(value);
          // Every URL parser reads `/posts/../comments` as `/comments`, and `//` is not one segment.
          if (segment === '' || segment === '.' || segment === '..')
            throw new HttpBodyError(
              at,
              `${resource.records}/*/${field}`,
              `child "${child.name}" cannot put ${JSON.stringify(segment)} in its path: it would not stay one path segment`,
            );
          return segment;
        });
        plans.push({ key: unitKey(child, values) });
      }
    }
    await this.#run.plan(plans);
  }
}

/** The error for a page whose records repeat an earlier page's, before they reach the sink. */
function repeated(at: PageLocation, repeat: Repeat, describe: Json): HttpBodyError {
  const what = repeat.byId
    ? `the same records (by id) as an earlier answer from the same URL (${repeat.url}), only their other fields or order changed`
    : repeat.previous
      ? `the same page as the one before it (${repeat.url})`
      : `the same records as an earlier page (${repeat.url})`;
  return new HttpBodyError(
    at,
    undefined,
    `the API answered with ${what}, so its records would be written again and again; ${repeatHint(describe)}`,
  );
}

/** What to check when a page repeats the one before it, from the paginator's description. */
function repeatHint(describe: Json): string {
  const said = (describe ?? {}) as Record<string, Json>;
  switch (said['type']) {
    case 'cursor':
    case 'page':
      return `does the API read the parameter "${said['param']}"?`;
    case 'offset':
      return `does the API read the parameter "${said['offsetParam']}"?`;
    case 'link':
    case 'next-url':
      return "the API's next page leads back to the same page";
    default:
      return "check the paginator's next()";
  }
}

/** The default of `maxPageBytes`: far above any API's page, far below what a process can hold. */
const DEFAULT_MAX_PAGE_BYTES = 100 * 1024 * 1024;

/** The default of `timeout`: undici's own idle timeouts, as one bound for the whole try. */
const DEFAULT_TIMEOUT_MS = 300_000;

/** The longest a timer waits (2^31 - 1 ms, about 24.8 days): Node fires a longer one at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
