export type { MatrixCursor } from './cursor.js';
export {
  MatrixAuthenticationError,
  MatrixConfigError,
  MatrixCursorError,
  MatrixPaginationError,
  MatrixRateLimitError,
  MatrixRequestError,
} from './errors.js';
export { stripHtmlFallback, stripPlainFallback } from './events.js';
export {
  DEFAULT_FILTER,
  DEFAULT_ID_MAP,
  type MatrixSourceOptions,
  type RoomEventFilter,
} from './options.js';
export { dependencies, parentOf, resolveParent } from './replies.js';
export { retryAfterMs } from './retry-after.js';
export {
  type MatrixSource,
  type MatrixSourceConfig,
  matrixSource,
  roomUnitKey,
  unresolvedMapName,
} from './source.js';
export type { MatrixMessage, MatrixWarning, UnresolvedReply } from './types.js';
