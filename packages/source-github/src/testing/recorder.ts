import { FIXTURE_TOKEN, type Fixture, recordedScenario } from './scenario.js';

const API = 'https://api.github.com';

export interface RecordOptions {
  /** Status of the response. Default 200. */
  status?: number;
  /** A path below the API root for the Link header's rel="next". */
  next?: string;
  /** The response's ETag. Default: one derived from the path. */
  etag?: string;
  /** Expect the request to send `If-None-Match` with this value. */
  ifNoneMatch?: string;
  /** Headers to add or replace (`retry-after`, `x-ratelimit-reset: "{{now+30}}"`, `location`). */
  headers?: Record<string, string | number>;
}

/**
 * Writes a scenario in @octokit/fixtures' format, request by request, with the response headers
 * GitHub sent in the recorded get-repository scenario (rate limit, ETag, media type). Each
 * request lowers `x-ratelimit-remaining` by one. List the requests in the order the client makes
 * them: the fixture server answers any other request with a 404.
 */
export class ScenarioRecorder {
  readonly fixtures: Fixture[] = [];
  #remaining: number;
  readonly #headers: Record<string, string | number>;

  constructor(options: { remaining?: number } = {}) {
    this.#remaining = options.remaining ?? 4999;
    const recorded = recordedScenario('get-repository')[0] as Fixture;
    const { 'content-length': _length, link: _link, ...headers } = recorded.headers;
    this.#headers = headers;
  }

  /** The repository GitHub returned in the recorded get-repository scenario. */
  static recordedRepository(): Record<string, unknown> {
    return (recordedScenario('get-repository')[0] as Fixture).response as Record<string, unknown>;
  }

  /** A GET of `path` (below the API root, with its query) answered with `response`. */
  get(path: string, response: unknown, options: RecordOptions = {}): this {
    const status = options.status ?? 200;
    const headers: Record<string, string | number> = {
      ...this.#headers,
      'x-ratelimit-remaining': String(this.#remaining),
      'x-ratelimit-used': 5000 - this.#remaining,
      ...(status < 300 && { etag: options.etag ?? `"${digest(path)}"` }),
      ...(options.next && { link: `<${API}${options.next}>; rel="next"` }),
      ...options.headers,
    };
    if (status >= 300) delete headers['last-modified'];
    this.#remaining -= 1;
    this.fixtures.push({
      scope: 'https://api.github.com:443',
      method: 'get',
      path,
      body: '',
      status,
      reqheaders: {
        accept: 'application/vnd.github.v3+json',
        authorization: `token ${FIXTURE_TOKEN}`,
        host: 'api.github.com',
        ...(options.ifNoneMatch && { 'if-none-match': options.ifNoneMatch }),
      },
      responseIsBinary: false,
      headers,
      response,
    });
    return this;
  }

  /** A 304 to a request that sent `If-None-Match: <etag>`. */
  notModified(path: string, etag: string): this {
    return this.get(path, '', { status: 304, ifNoneMatch: etag, headers: { etag } });
  }

  /** An error as GitHub words it: `{ message, documentation_url }` with the status. */
  error(
    path: string,
    status: number,
    message: string,
    headers: Record<string, string | number> = {},
  ): this {
    return this.get(
      path,
      { message, documentation_url: 'https://docs.github.com/rest' },
      { status, headers },
    );
  }
}

/** A stable 32-hex-digit digest of a string (for ETags and fake commit shas). */
export function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = (b * 31 + code) >>> 0;
  }
  return (a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')).repeat(2);
}
