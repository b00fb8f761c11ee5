import { CheckpointError, errorMessage } from '@checkpointkit/core';

/** A file of a file sink could not be opened, cut back, written or synced: names the file and the cause. */
export class SinkFileError extends CheckpointError {
  override name = 'SinkFileError';
  constructor(
    /** The output file, as the sink's `path` gave it. */
    readonly file: string,
    /** What the sink was doing: `open`, `cut back`, `write`, `remove`, `keep aside`. */
    readonly operation: string,
    cause: unknown,
  ) {
    super(`file sink: cannot ${operation} ${file}: ${errorMessage(cause)}`, { cause });
  }
}

/**
 * A file is shorter than the offset the checkpoint recorded for it: pages a flush acknowledged
 * are gone (the file was cut, replaced or deleted by something else). The sink refuses to go on,
 * since writing would leave a hole where those pages were; restore the file or reset the job.
 */
export class SinkFileLostError extends CheckpointError {
  override name = 'SinkFileLostError';
  constructor(
    readonly file: string,
    /** Bytes the checkpoint says the file holds. */
    readonly recorded: number,
    /** Bytes it holds. */
    readonly actual: number,
  ) {
    super(
      `file sink: ${file} holds ${actual} bytes but the checkpoint recorded ${recorded}: ` +
        'acknowledged pages are missing (was the file cut or replaced?); restore it, or reset the job to write it again',
    );
  }
}

/** The state a file sink recorded in the checkpoint's meta is not one it writes. */
export class SinkFileStateError extends CheckpointError {
  override name = 'SinkFileStateError';
  constructor(
    /** The meta key (`<sink id>:<path>`). */
    readonly key: string,
    readonly value: unknown,
  ) {
    super(
      `file sink: checkpoint meta "${key}" should be { "bytes": <whole number >= 0>, "part"?: <whole number >= 0> }, got ${JSON.stringify(value)}`,
    );
  }
}
