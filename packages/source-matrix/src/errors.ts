import { CheckpointError, UnitError } from '@checkpointkit/core';

/** An option given to `matrixSource` is missing or wrong. Names the option and what is wrong. */
export class MatrixConfigError extends CheckpointError {
  override name = 'MatrixConfigError';
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`matrixSource: option "${option}" ${reason}`);
  }
}

export interface MatrixRequestErrorInit {
  /** `GET /_matrix/client/v3/...`: the method and path, never the query string or headers. */
  endpoint: string;
  /** HTTP status, or null when no response arrived (network error, timeout). */
  status: number | null;
  /** The Matrix `errcode` of the response, when it had one. */
  errcode: string | null;
  /** What went wrong, already free of secrets. */
  detail: string;
  retryable: boolean;
  cause?: unknown;
}

/**
 * A request to the homeserver failed. 401, 403 and 404 (and other client errors) are not
 * retryable; rate limits, server errors and network errors are, once the source's own bounded
 * retries are used up. The message names the endpoint, the status and the errcode.
 */
export class MatrixRequestError extends UnitError {
  override name = 'MatrixRequestError';
  readonly endpoint: string;
  readonly status: number | null;
  readonly errcode: string | null;
  constructor(init: MatrixRequestErrorInit) {
    const status = init.status === null ? 'no response' : String(init.status);
    const code = init.errcode ? ` ${init.errcode}` : '';
    super(`${init.endpoint} failed: ${status}${code}: ${init.detail}`, {
      retryable: init.retryable,
      cause: init.cause,
    });
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.errcode = init.errcode;
  }
}

/** The homeserver kept answering 429 M_LIMIT_EXCEEDED, or asked for a longer wait than allowed. */
export class MatrixRateLimitError extends MatrixRequestError {
  override name = 'MatrixRateLimitError';
  /** The wait the server asked for last, in milliseconds, when it said. */
  readonly retryAfterMs: number | null;
  constructor(
    init: Omit<MatrixRequestErrorInit, 'status' | 'retryable'> & { retryAfterMs: number | null },
  ) {
    super({ ...init, status: 429, retryable: true });
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * Paging through a room went wrong in a way retrying will not fix: the server handed back a token
 * it had given before (a loop), kept sending empty pages, or the start of the history cannot be found.
 */
export class MatrixPaginationError extends UnitError {
  override name = 'MatrixPaginationError';
  constructor(
    readonly roomId: string,
    reason: string,
  ) {
    super(`room ${roomId}: ${reason}`, { retryable: false });
  }
}

/** A unit's stored cursor is not one this source wrote. Names the unit and the field. */
export class MatrixCursorError extends UnitError {
  override name = 'MatrixCursorError';
  constructor(
    readonly unit: string,
    reason: string,
  ) {
    super(`unit "${unit}": the checkpoint's cursor is not a Matrix cursor: ${reason}`, {
      retryable: false,
    });
  }
}

/** Replaces every occurrence of `secret` in `text`, so a token echoed by a server never travels on. */
export function redact(text: string, secret: string): string {
  return secret.length === 0 ? text : text.split(secret).join('<redacted>');
}
