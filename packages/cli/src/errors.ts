import {
  CheckpointError,
  CheckpointFormatError,
  CheckpointLockedError,
  errorMessage,
} from '@checkpointkit/core';
import { CommanderError } from 'commander';
import { EXIT, type ExitCode } from './exit-codes.js';

/** An error the CLI reports as one line with a chosen exit code. */
export class CliError extends CheckpointError {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A checkpoint, unit or file that does not exist. */
export class NotFoundError extends CliError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(message, EXIT.NOT_FOUND);
  }
}

/**
 * A checkpoint of the file store that cannot be read because its files are damaged: reported as
 * the format error it wraps (exit 5), followed by how `checkpointkit repair` gets out of it (or,
 * for what repair does not move, what to do instead).
 */
export class DamagedCheckpointError extends CheckpointFormatError {
  override name = 'DamagedCheckpointError';
  /** What to run to repair it, for the message at the top. */
  readonly hint: string;
  /** False when `repair` cannot deal with it either: `hint` then says what to do instead. */
  readonly repairable: boolean = true;
  /** `dir`: the `--dir` the failed command was given, repeated in the hint so it can be pasted. */
  constructor(error: CheckpointFormatError, id: string, dir?: string) {
    super(error.file, error.cause_, error.line, { cause: error });
    // A folder, named pipe or device under a checkpoint file's name (storage-file's kind `type`):
    // repair moves damaged files aside, not those, and refused with this same message.
    if ((error as { kind?: unknown }).kind === 'type') {
      this.hint =
        'it is no file CheckpointKit wrote and `checkpointkit repair` does not move it: move it out of the store';
      this.repairable = false;
      return;
    }
    const command = ['checkpointkit', 'repair', id, ...(dir === undefined ? [] : ['--dir', dir])]
      .map(shellWord)
      .join(' ');
    this.hint = `run \`${command}\` to move the damaged file aside and keep every valid change`;
  }
}

/** A word as a POSIX shell reads it back: as is when plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What to print and which code to exit with for an error that reached the top. */
export function classify(error: unknown): { code: ExitCode; message: string } {
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  if (error instanceof CheckpointLockedError) {
    return {
      code: EXIT.LOCKED,
      message: `${error.message}; it was not changed (stop the job first)`,
    };
  }
  if (error instanceof DamagedCheckpointError) {
    return { code: EXIT.DAMAGED, message: `${error.message}; ${error.hint}` };
  }
  if (error instanceof CheckpointFormatError) return { code: EXIT.DAMAGED, message: error.message };
  if (error instanceof CommanderError) return { code: EXIT.USAGE, message: error.message };
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return { code: EXIT.NOT_FOUND, message: errorMessage(error) };
  return { code: EXIT.FAILURE, message: errorMessage(error) };
}
