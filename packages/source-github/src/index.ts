export {
  createGithubClient,
  type GithubClientOptions,
  type GithubLog,
  GithubOctokit,
} from './client.js';
export type { ReviewsCursor, WalkCursor } from './cursor.js';
export {
  ENDPOINTS,
  type GithubEndpoint,
  type GithubObject,
  type QueryParams,
} from './endpoints.js';
export {
  GithubAuthenticationError,
  GithubCursorError,
  GithubRequestError,
  GithubResponseError,
  GithubSourceConfigError,
  RateLimitExhaustedError,
} from './errors.js';
export { endpointUnit, orgUnit, parseUnitKey, repoUnit, type UnitTarget } from './keys.js';
export type { GithubSourceOptions } from './options.js';
export { rateLimitFromHeaders } from './rate-limit.js';
export { type GithubRecord, type GithubSource, githubSource } from './source.js';
