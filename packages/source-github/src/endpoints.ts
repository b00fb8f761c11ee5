/** The per-repository endpoints the source collects, and how each is listed. */

/** Endpoint names, as they appear in unit keys (`repos/<owner>/<name>/<endpoint>`). */
export const ENDPOINTS = [
  'pulls',
  'issues',
  'issue-comments',
  'review-comments',
  'reviews',
  'commits',
] as const;
export type GithubEndpoint = (typeof ENDPOINTS)[number];

/** Query parameters of a list request; `per_page` and `since` are added by the source. */
export type QueryParams = Record<string, string | number | boolean>;

/** A GitHub object as the API returned it. */
export type GithubObject = Record<string, unknown>;

export interface ListSpec {
  /** Path of the first page below the API root, without the query. */
  path: string;
  /** False for a single object (a repository): no `per_page`, the object is the page's one item. */
  paginated?: boolean;
  /** Query parameters other than `per_page` and `since`, in the order they are sent. */
  params: QueryParams;
  /** Whether GitHub filters this list by a `since` parameter. */
  acceptsSince: boolean;
  /**
   * Whether the list is sorted newest update first, so that a walk can stop at the first item
   * older than its floor (`since`, or the previous walk's watermark).
   */
  newestFirst: boolean;
  /** The item's update time (ISO 8601), which orders the list. */
  timeOf(item: GithubObject): string | null;
  /** The item's stable identity (id, or sha for commits). */
  idOf(item: GithubObject): string | number;
  /** The field `idOf` reads, for messages. */
  idField: 'id' | 'sha';
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const updatedAt = (item: GithubObject) => str(item['updated_at']);
const byId = (item: GithubObject) => item['id'] as number | string;
const byUpdate = { sort: 'updated', direction: 'desc' } as const;

/**
 * How each list endpoint of a repository is read. Everything that can be sorted by update time
 * is read newest first: an item updated during a walk moves to the first page (already read) and
 * is picked up by the next refresh, and the items it pushes one place down are recognised by id.
 */
export function listSpec(
  endpoint: Exclude<GithubEndpoint, 'reviews'>,
  repo: string,
  params?: QueryParams,
): ListSpec {
  const spec = defaultListSpec(endpoint, repo);
  if (!params || endpoint === 'commits') return params ? { ...spec, params } : spec;
  return { ...spec, params, newestFirst: isNewestFirst(params) };
}

/** True when the parameters sort a list by update time, newest first. */
export function isNewestFirst(params: QueryParams): boolean {
  return params['sort'] === 'updated' && params['direction'] === 'desc';
}

function defaultListSpec(endpoint: Exclude<GithubEndpoint, 'reviews'>, repo: string): ListSpec {
  const base = `/repos/${repo}`;
  switch (endpoint) {
    case 'pulls':
      return {
        path: `${base}/pulls`,
        params: { state: 'all', ...byUpdate },
        acceptsSince: false,
        newestFirst: true,
        timeOf: updatedAt,
        idOf: byId,
        idField: 'id',
      };
    case 'issues':
      return {
        path: `${base}/issues`,
        params: { state: 'all', ...byUpdate },
        acceptsSince: true,
        newestFirst: true,
        timeOf: updatedAt,
        idOf: byId,
        idField: 'id',
      };
    case 'issue-comments':
      return {
        path: `${base}/issues/comments`,
        params: { ...byUpdate },
        acceptsSince: true,
        newestFirst: true,
        timeOf: updatedAt,
        idOf: byId,
        idField: 'id',
      };
    case 'review-comments':
      return {
        path: `${base}/pulls/comments`,
        params: { ...byUpdate },
        acceptsSince: true,
        newestFirst: true,
        timeOf: updatedAt,
        idOf: byId,
        idField: 'id',
      };
    case 'commits':
      return {
        path: `${base}/commits`,
        params: {},
        acceptsSince: true,
        newestFirst: true,
        timeOf: commitTime,
        idOf: (item) => item['sha'] as string,
        idField: 'sha',
      };
  }
}

/** The reviews of one pull request: oldest first, no `since` filter. */
export function reviewsSpec(repo: string, pullNumber: number): ListSpec {
  return {
    path: `/repos/${repo}/pulls/${pullNumber}/reviews`,
    params: {},
    acceptsSince: false,
    newestFirst: false,
    timeOf: (item) => str(item['submitted_at']),
    idOf: byId,
    idField: 'id',
  };
}

/** One repository, as a list of one: its discovery when it was named in `repos`. */
export function repoSpec(repo: string): ListSpec {
  return {
    path: `/repos/${repo}`,
    paginated: false,
    params: {},
    acceptsSince: false,
    newestFirst: false,
    timeOf: updatedAt,
    idOf: byId,
    idField: 'id',
  };
}

/** An organization's repositories, most recently updated first. */
export function orgReposSpec(org: string, params?: QueryParams): ListSpec {
  const query = params ?? { type: 'all', ...byUpdate };
  return {
    path: `/orgs/${org}/repos`,
    params: query,
    acceptsSince: false,
    newestFirst: isNewestFirst(query),
    timeOf: updatedAt,
    idOf: byId,
    idField: 'id',
  };
}

function commitTime(item: GithubObject): string | null {
  const commit = item['commit'] as
    | { committer?: { date?: unknown }; author?: { date?: unknown } }
    | undefined;
  return str(commit?.committer?.date) ?? str(commit?.author?.date);
}
