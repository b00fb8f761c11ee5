export type { Auth } from './auth.js';
export {
  HttpAuthApplyError,
  HttpAuthError,
  HttpBodyError,
  HttpCursorError,
  HttpEmptyBodyError,
  HttpRequestError,
  HttpSourceConfigError,
  type PageLocation,
} from './errors.js';
export type {
  ChildResource,
  HttpRecord,
  HttpSourceOptions,
  QueryParams,
  Resource,
} from './options.js';
export {
  type CachedPage,
  filePageCache,
  memoryPageCache,
  type PageCache,
} from './page-cache.js';
export {
  type BodyFieldOptions,
  bodyCursor,
  linkHeader,
  nextUrl,
  offsetLimit,
  type PageInfo,
  type Paginator,
  PointerError,
  pageNumber,
  type Total,
} from './paginators.js';
export { rateLimitFromHeaders } from './rate-limit.js';
export { type HttpCursor, type HttpSource, httpSource } from './source.js';
