import { CheckpointError } from '@checkpointkit/core';

/**
 * A write the file system refused: a full disk (`ENOSPC`), a quota (`EDQUOT`), a file size limit
 * (`EFBIG`), a read-only mount (`EROFS`), missing permission (`EACCES`). Names the checkpoint,
 * the file and the cause.
 *
 * Nothing of the refused write counts: the checkpoint's files still hold every change
 * acknowledged before it (a partly written batch is cut off again, or dropped as a torn tail
 * when read). A run keeps the refused changes and saves them with its next flush, so a job that
 * catches this error can free space and flush again.
 */
export class CheckpointWriteError extends CheckpointError {
  override name = 'CheckpointWriteError';
  constructor(
    /** The checkpoint whose file could not be written. */
    readonly checkpointId: string,
    /** The file (or directory) the write was for. */
    readonly file: string,
    /** The system's error code, `ENOSPC` say. */
    readonly code: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint "${checkpointId}": could not write ${file}: ${reason}`, options);
  }
}

/**
 * Runs `work`, turning a system error (one with an errno `code`) into a
 * {@link CheckpointWriteError} for `file`. The store's own errors pass through unchanged.
 */
export async function writingTo<T>(id: string, file: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asWriteError(id, file, error);
  }
}

/** The error as a {@link CheckpointWriteError} for `file` when it is a system error; else as it is. */
export function asWriteError(id: string, file: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (error instanceof CheckpointError || typeof code !== 'string') return error;
  return new CheckpointWriteError(id, file, code, (error as Error).message, { cause: error });
}
