import { ENDPOINTS, type GithubEndpoint } from './endpoints.js';

/** What a unit key of this source names. */
export type UnitTarget =
  | { kind: 'org'; org: string }
  | { kind: 'repository'; repo: string }
  | { kind: 'endpoint'; repo: string; endpoint: GithubEndpoint };

/** `discover/<org>`: the discovery of an organization's repositories. */
export const orgUnit = (org: string) => `discover/${org}`;
/** `discover/<owner>/<name>`: one named repository, looked up (renames followed). */
export const repoUnit = (repo: string) => `discover/${repo}`;
/** `repos/<owner>/<name>/<endpoint>`: one endpoint of one repository. */
export const endpointUnit = (repo: string, endpoint: GithubEndpoint) => `repos/${repo}/${endpoint}`;

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * One path segment of GitHub's names. `.` and `..` pass the character test but are path steps:
 * a URL parser reads `/repos/acme/../issues` as `/repos/issues`, another endpoint.
 */
const isName = (part: string) => NAME.test(part) && part !== '.' && part !== '..';

/** A repository's `owner/name`, when well formed. */
export function isRepoName(value: string): boolean {
  const parts = value.split('/');
  return parts.length === 2 && parts.every(isName);
}

export function isOrgName(value: string): boolean {
  return isName(value);
}

/** Reads a unit key of this source; null when the key is not one. */
export function parseUnitKey(key: string): UnitTarget | null {
  const parts = key.split('/');
  if (parts[0] === 'discover' && parts.length === 2 && isOrgName(parts[1] ?? '')) {
    return { kind: 'org', org: parts[1] as string };
  }
  if (parts[0] === 'discover' && parts.length === 3) {
    const repo = `${parts[1]}/${parts[2]}`;
    return isRepoName(repo) ? { kind: 'repository', repo } : null;
  }
  if (parts[0] === 'repos' && parts.length === 4) {
    const repo = `${parts[1]}/${parts[2]}`;
    const endpoint = parts[3] as GithubEndpoint;
    return isRepoName(repo) && ENDPOINTS.includes(endpoint)
      ? { kind: 'endpoint', repo, endpoint }
      : null;
  }
  return null;
}
