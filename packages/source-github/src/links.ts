import { clip, decodedUrl, GithubResponseError } from './errors.js';

/**
 * Octokit sends the token with every request, to whatever URL it is asked for. GitHub's own
 * URLs stay on the API's host, below its root (`/api/v3` on GitHub Enterprise); a URL anywhere
 * else, from a Link header or a stored cursor, would hand the token to that host.
 */
export function isBelowRoot(url: string, root: string): boolean {
  const target = parse(url);
  const base = parse(root);
  if (!(target && base) || target.origin !== base.origin) return false;
  const prefix = base.pathname.replace(/\/$/, '');
  return prefix === '' || target.pathname === prefix || target.pathname.startsWith(`${prefix}/`);
}

/**
 * The owner part of an API path: `/repos/<owner>/<name>` or `/repositories/<id>` (which GitHub
 * switches to mid-walk), `/orgs/<org>` or `/organizations/<id>`.
 */
const SCOPE = /^\/(repos\/[^/]+\/[^/]+|repositories\/\d+|orgs\/[^/]+|organizations\/\d+)(?=\/|$)/i;

/**
 * Checks the rel="next" Link of a page before it is recorded or followed: an absolute http(s) URL
 * below the API root (see {@link isBelowRoot}), listing what the page listed (the same path after
 * the owner part, and the same owner or its numeric form). A Link to another endpoint or
 * repository would file that list's items under this unit. Throws a {@link GithubResponseError}
 * naming the Link (redacted), not retryable.
 */
export function checkNext(
  next: string,
  page: string,
  root: string,
  request: string,
  redact: (text: string) => string,
): void {
  const refuse = (why: string) =>
    new GithubResponseError(
      request,
      'link',
      `the rel="next" Link <${clip(redact(decodedUrl(next)), 300)}> ${why}; not followed`,
      { retryable: false },
    );
  const target = /^https?:\/\//i.test(next) ? parse(next) : null;
  if (!target) throw refuse('is not an absolute http(s) URL');
  if (!isBelowRoot(next, root)) throw refuse(`is not below the API root ${redact(root)}`);
  const from = parse(page);
  if (from && !sameList(below(target.pathname, root), below(from.pathname, root))) {
    throw refuse(`lists something else than ${redact(decodedUrl(from.pathname))}`);
  }
}

function sameList(next: string, page: string): boolean {
  const a = SCOPE.exec(next)?.[1];
  const b = SCOPE.exec(page)?.[1];
  if (a === undefined || b === undefined) return next === page;
  if (next.slice(a.length + 1) !== page.slice(b.length + 1)) return false;
  const kind = (scope: string) => (/^(repos|repositories)\//i.test(scope) ? 'repo' : 'org');
  const numeric = /^(repositories|organizations)\/\d+$/i.test(a);
  return kind(a) === kind(b) && (numeric || a.toLowerCase() === b.toLowerCase());
}

/** The path below the API root: `/repos/acme/api/issues` of `/api/v3/repos/acme/api/issues`. */
function below(pathname: string, root: string): string {
  const prefix = (parse(root)?.pathname ?? '').replace(/\/$/, '');
  return pathname.slice(prefix.length);
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The same URL however it was written (`%7e` or `~`, `/a/../b` or `/b`), to spot a page read before. */
export function sameUrl(url: string): string {
  return parse(url)?.href ?? url;
}
