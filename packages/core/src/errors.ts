import type { FailureCause } from './model/schema.js';

/** Who holds a checkpoint's lock, as stores record it. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO 8601 time the lock was taken (when the owner is unknown: when it was last refreshed). */
  since: string;
  /**
   * Set when the lock is held but its owner record cannot be read (missing, cut short, not
   * JSON): the path of that record. `pid` and `host` then say nothing.
   */
  unreadableOwnerFile?: string;
}

export function describeOwner(owner: LockOwner): string {
  if (owner.unreadableOwnerFile !== undefined) {
    return `an unknown process: its owner file ${owner.unreadableOwnerFile} is unreadable; lock refreshed at ${owner.since}`;
  }
  return `pid ${owner.pid} on ${owner.host} since ${owner.since}`;
}

/** Base class of every error CheckpointKit throws on purpose. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Another process (or run) holds the checkpoint's lock. */
export class CheckpointLockedError extends CheckpointError {
  override name = 'CheckpointLockedError';
  constructor(
    readonly checkpointId: string,
    readonly owner: LockOwner | null,
    options?: { cause?: unknown },
  ) {
    super(
      `checkpoint "${checkpointId}" is locked by ${owner ? describeOwner(owner) : 'another process'}`,
      options,
    );
  }
}

/** The lock was lost (taken over, or its file removed) while the run still thought it held it. */
export class LockLostError extends CheckpointError {
  override name = 'LockLostError';
  constructor(
    readonly checkpointId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`lost the lock of checkpoint "${checkpointId}": ${reason}`, options);
  }
}

/**
 * Worker mode: a unit this worker was working on is no longer its own. Its lease expired while
 * the worker was not heard from (paused, cut off from the database) and another worker took the
 * unit over, finished it, or let it go. Thrown by `run.transaction()` when its work recorded
 * changes to such a unit (the transaction is rolled back, a transactional sink's rows with it),
 * and by a store that knows a unit was taken over when the run records more work on it. The
 * unit's current owner does that work. `pipeline()` lets the unit go and works on; it is not the
 * unit's failure.
 */
export class UnitTakenOverError extends CheckpointError {
  override name = 'UnitTakenOverError';
  constructor(
    readonly checkpointId: string,
    readonly key: string,
    readonly worker: string,
    options?: { cause?: unknown },
  ) {
    super(
      `unit "${key}" of checkpoint "${checkpointId}" is no longer worker ${worker}'s: its lease expired and another worker took it over, so this work on it is not saved`,
      options,
    );
  }
}

/** The job's config differs from the one the checkpoint was made with. */
export class ConfigMismatchError extends CheckpointError {
  override name = 'ConfigMismatchError';
  constructor(
    readonly checkpointId: string,
    readonly stored: string | null,
    readonly current: string | null,
  ) {
    super(configMismatchMessage(checkpointId, stored, current));
  }
}

function configMismatchMessage(id: string, stored: string | null, current: string | null): string {
  // A checkpoint made without a config (a migrated seed file, a job that passed none) has no
  // digest: "digest none" read as if the config were called "none".
  if (stored === null) {
    return (
      `checkpoint "${id}" has no recorded config (it was made without one), and this job passes one (digest ${short(current)}); ` +
      'pass onConfigChange: "keep" to record it and continue, or "reset" to start over'
    );
  }
  return (
    `checkpoint "${id}" was made with another config (digest ${short(stored)}, now ${current === null ? 'no config' : short(current)}); ` +
    'pass onConfigChange: "reset" to start over or "keep" to continue with it'
  );
}

const short = (digest: string | null) => (digest ? digest.slice(0, 12) : 'none');

/** A file or document that is not a checkpoint CheckpointKit can read. Names the file and the cause. */
export class CheckpointFormatError extends CheckpointError {
  override name = 'CheckpointFormatError';
  constructor(
    readonly file: string | undefined,
    readonly cause_: string,
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(`${file ?? 'checkpoint'}${line !== undefined ? `:${line}` : ''}: ${cause_}`, options);
  }
}

/**
 * A canonical checkpoint document (`checkpointkit/1`) with a member that format does not have:
 * most likely one written by a newer CheckpointKit. It is refused rather than read without the
 * member, which the next write would lose for good (the seed formats, which are not ours to
 * version, keep such members in `meta.user.unknownFields` instead).
 */
export class UnknownMemberError extends CheckpointFormatError {
  override name = 'UnknownMemberError';
  constructor(
    file: string | undefined,
    /** Keys and array indexes from the document's root to the first such member. */
    readonly path: readonly (string | number)[],
    cause: string,
  ) {
    super(file, cause);
  }
}

/** An id map already maps the source id to another target. */
export class IdMapConflictError extends CheckpointError {
  override name = 'IdMapConflictError';
  constructor(
    readonly map: string,
    readonly source: string,
    readonly existing: string | number,
    readonly attempted: string | number,
  ) {
    super(
      `id map "${map}": "${source}" is already mapped to ${JSON.stringify(existing)}, not ${JSON.stringify(attempted)}`,
    );
  }
}

/** The run was used after it was finished or closed. `detail` says what that left undone. */
export class RunClosedError extends CheckpointError {
  override name = 'RunClosedError';
  constructor(
    readonly checkpointId: string,
    detail?: string,
  ) {
    super(`the run of checkpoint "${checkpointId}" is closed${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * Thrown by sources and sinks to say whether a failure is worth retrying. Anything else that a
 * source or sink throws counts as retryable (a network error, most likely).
 */
export class UnitError extends CheckpointError {
  override name = 'UnitError';
  readonly retryable: boolean;
  /**
   * The structured cause (status, errcode, URL), recorded with the unit's failure so programs
   * can tell a 404 from a 403 without parsing the message.
   */
  readonly failureCause: FailureCause | undefined;
  constructor(
    message: string,
    options: { retryable: boolean; cause?: unknown; failureCause?: FailureCause },
  ) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.failureCause = options.failureCause;
  }
}

/**
 * A value handed to a run (a page's cursor, a meta value, a mapped id) that JSON cannot hold, so
 * the checkpoint could not give it back on resume: NaN, a Date, a Map, a bigint, a cycle. Nothing
 * of the call is recorded. Not retryable: the same source hands over the same value again. In
 * `pipeline()` it fails the unit before the page reaches the sink.
 */
export class CheckpointValueError extends UnitError {
  override name = 'CheckpointValueError';
  constructor(
    /** Where the value was going, such as `units["u"].cursor.page`. */
    readonly field: string,
    /** What is wrong with it, starting with the field. */
    readonly reason: string,
  ) {
    super(`${reason}: a checkpoint is stored as JSON, and resuming would not get it back`, {
      retryable: false,
    });
  }
}

/**
 * The service refused the job's credentials (an HTTP 401, Matrix `M_UNKNOWN_TOKEN`). No unit
 * can succeed with them, so `pipeline()` stops the run at once and rejects with this error:
 * no unit is recorded as failed, and the next run with good credentials continues where this
 * one stopped. Sources throw it or a subclass; the message says what to fix, never the secret.
 */
export class AuthenticationError extends CheckpointError {
  override name = 'AuthenticationError';
  /** The structured cause: status, errcode, URL. */
  readonly failureCause: FailureCause | undefined;
  constructor(
    /** The service that refused, such as `GitHub` or `Matrix homeserver matrix.org`. */
    readonly service: string,
    /** What the service said, free of secrets. */
    readonly detail: string,
    /** What the user should do, such as `check the token in GITHUB_TOKEN`. */
    readonly fix: string,
    options: { cause?: unknown; failureCause?: FailureCause } = {},
  ) {
    super(
      `${service} refused the credentials (${detail}): ${fix}. The run stopped; no unit was ` +
        'marked failed, so running again with good credentials continues where it stopped',
      { cause: options.cause },
    );
    this.failureCause = options.failureCause;
  }
}

/**
 * A source, sink or transform handed `pipeline()` something its contract does not allow: a page
 * whose items are not an array, a sink's `meta` that is a string, a transform that returned no
 * array. Fails the unit; not retryable, since the same code does the same again.
 */
export class ContractError extends UnitError {
  override name = 'ContractError';
  constructor(
    /** The part that broke it: `source.units`, `source.read`, `sink.write` or `transform`. */
    readonly part: string,
    /** The unit it was working on; null for `source.units`. */
    readonly unit: string | null,
    /** What it did, such as `yielded a page whose items is a string, not an array`. */
    readonly reason: string,
  ) {
    const where = unit === null ? '' : ` for unit ${JSON.stringify(unit)}`;
    super(`${part}${where} ${reason}`, { retryable: false });
  }
}

/** An options object given to a public function has an option it cannot use. */
export class OptionsError extends CheckpointError {
  override name = 'OptionsError';
  constructor(
    /** The function, such as `pipeline`. */
    readonly fn: string,
    /** The option's path, such as `retryFailed`. */
    readonly option: string,
    /** What is wrong and what is accepted. */
    readonly reason: string,
  ) {
    super(`${fn}: option "${option}" ${reason}`);
  }
}

/** Whether an error thrown by a source or a sink is worth retrying. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof UnitError) return error.retryable;
  try {
    if (
      error &&
      typeof error === 'object' &&
      'retryable' in error &&
      typeof error.retryable === 'boolean'
    ) {
      return error.retryable;
    }
  } catch {
    // A `retryable` getter that throws says nothing: the default applies.
  }
  return true;
}

/**
 * The message of anything thrown, always a string and never throwing itself: it is recorded in
 * the checkpoint, where a message that is not a string would make the store refuse every flush
 * after it. A value that is not an Error (`throw undefined`, `throw { code }`) says so.
 */
export function errorMessage(error: unknown): string {
  try {
    if (error instanceof Error) return messageText(error.message);
    if (typeof error === 'string') return error;
    const message = (error as { message?: unknown } | null | undefined)?.message;
    if (typeof message === 'string') return message;
    return `${messageText(error)} was thrown, not an Error`;
  } catch {
    return 'a value was thrown whose message could not be read';
  }
}

/** A string for a message that may be anything: JSON for objects (cut short), else String(). */
function messageText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      // A cycle or a bigint: String() below.
    }
    if (json !== undefined && json !== '{}')
      return json.length > 200 ? `${json.slice(0, 200)}…` : json;
  }
  return String(value);
}

/**
 * Whether an error means the run cannot go on, whatever unit it came from: the store lost the
 * run's lock, the run was closed under it, the store cannot tell whether it saved
 * (`outcomeUnknown`), the store gave up reaching its database (`storeUnavailable`), or a source's
 * credentials were refused ({@link AuthenticationError}).
 * `pipeline()` stops on such an error and rejects with it, instead of failing the unit.
 */
export function isRunFatal(error: unknown): boolean {
  if (
    error instanceof LockLostError ||
    error instanceof RunClosedError ||
    error instanceof AuthenticationError
  ) {
    return true;
  }
  if (typeof error !== 'object' || error === null) return false;
  try {
    const flags = error as { outcomeUnknown?: unknown; storeUnavailable?: unknown };
    return flags.outcomeUnknown === true || flags.storeUnavailable === true;
  } catch {
    // A getter that throws: a source's or sink's odd value, not a store's flag.
    return false;
  }
}
