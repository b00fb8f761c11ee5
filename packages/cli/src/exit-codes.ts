/**
 * The exit codes of `checkpointkit`. They are part of the public interface: scripts branch on
 * them, so a code never changes meaning.
 */
export const EXIT = {
  /** Done. `watch`: the job completed (or its checkpoint was cleaned up after success). */
  OK: 0,
  /** Something failed: an I/O or database error, a declined confirmation, a job that ended failed. */
  FAILURE: 1,
  /** Bad usage: unknown verb or option, missing argument, a confirmation needed without a terminal. */
  USAGE: 2,
  /** No such checkpoint, unit or file. */
  NOT_FOUND: 3,
  /** The checkpoint's lock is held by a running job: it was shown, not changed. */
  LOCKED: 4,
  /** A file is not a checkpoint CheckpointKit can read (damaged or unknown format). Left untouched. */
  DAMAGED: 5,
  /** `migrate`: the target exists; pass `--force` to replace it. */
  EXISTS: 6,
  /** Interrupted by Ctrl+C (SIGINT), as shells expect. */
  INTERRUPTED: 130,
  /** `watch`: stopped by SIGTERM (`kill`, `timeout`), as shells expect (128 + 15). */
  TERMINATED: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
