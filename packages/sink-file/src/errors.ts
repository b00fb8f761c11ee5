import { CheckpointError, errorMessage, type LockOwner, UnitError } from '@checkpointkit/core';

/** A file of a file sink could not be opened, cut back, written or synced: names the file and the cause. */
export class SinkFileError extends CheckpointError {
  override name = 'SinkFileError';
  constructor(
    /** The output file (resolved against the working directory of when the sink was made). */
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
      `file sink: checkpoint meta "${key}" should be { "bytes": <whole number >= 0>, "part"?: <whole number >= 0>, "tail"?: <string> }, got ${JSON.stringify(value)}`,
    );
  }
}

/**
 * An item of a page could not be turned into its line: it holds a value the format cannot hold
 * (a bigint, a cycle, a function or symbol, NaN or ±Infinity, a Map or Set, an invalid Date; in
 * CSV a function or symbol cell), or the sink's `toJson`, a CSV column's `value` or a `toJSON`
 * threw. Nothing of the page is written. Fails the unit, not retryable: the same item fails again.
 */
export class SinkFileItemError extends UnitError {
  override name = 'SinkFileItemError';
  /**
   * Where the value is, as code would reach it: `items[3].user.id` (the page's items),
   * `toJson(items[3]).id` (what `toJson` returned), `columns[2].value(items[3])` (a CSV column
   * function's value); undefined when a function the sink was given threw.
   */
  readonly field: string | undefined;
  constructor(
    /** The output file the page was going to. */
    readonly file: string,
    /** The unit the page belongs to. */
    readonly unit: string,
    /** The item's index in its page. */
    readonly item: number,
    /**
     * What is wrong with it: a message, an error naming the field (an object with `field`, whose
     * `cause` becomes this error's), or what the function it was given threw.
     */
    reason: unknown,
  ) {
    const field = fieldOf(reason);
    const cause = field === undefined ? reason : (reason as Error).cause;
    super(
      `file sink: item ${item} of a page of ${unit} for ${file} ${
        typeof reason === 'string' ? reason : `cannot be written: ${errorMessage(reason)}`
      }`,
      {
        retryable: false,
        ...(typeof reason === 'string' || cause === undefined ? {} : { cause }),
      },
    );
    this.field = field;
  }
}

/** The field an error from the value checks names, if it is one. */
function fieldOf(reason: unknown): string | undefined {
  if (!(reason instanceof Error)) return undefined;
  const field = (reason as { field?: unknown }).field;
  return typeof field === 'string' ? field : undefined;
}

/**
 * A page's text would be longer than a JavaScript string can hold (V8's limit, about 512 Mi
 * UTF-16 code units, `buffer.constants.MAX_STRING_LENGTH`), so the page cannot be written as one:
 * before, the sink failed with a bare `RangeError: Invalid string length`, retried as if the disk
 * had failed. Nothing of the page is written. Fails the unit, not retryable: the same page is too
 * large again. Make the source's pages smaller (or its items, when one alone is too large).
 */
export class SinkFilePageSizeError extends UnitError {
  override name = 'SinkFilePageSizeError';
  constructor(
    /** The output file the page was going to. */
    readonly file: string,
    /** The unit the page belongs to. */
    readonly unit: string,
    /** How many items the page holds. */
    readonly items: number,
    /** The item at which the page's text passed the limit. */
    readonly item: number,
    /**
     * Characters (UTF-16 code units) of the page's text up to and including that item; undefined
     * when that item alone was too large for JSON.stringify to return.
     */
    readonly chars: number | undefined,
    /** The most characters a page's text may have. */
    readonly limit: number,
  ) {
    super(
      `file sink: a page of ${unit} for ${file} is too large to write: ${
        chars === undefined
          ? `item ${item} alone is longer than`
          : `its text reaches ${chars} characters at item ${item} of ${items}, more than`
      } the ${limit} characters a JavaScript string can hold. Nothing of it was written; make the source's pages (or that item) smaller`,
      { retryable: false },
    );
  }
}

/**
 * A file is not the one the checkpoint recorded: its last bytes differ from the last ones the sink
 * wrote there (it was replaced or rewritten, or a relative path now names another file because the
 * job runs in another working directory), or a part before the recorded one is gone. The sink
 * refuses to go on and touches nothing, since cutting it back would destroy what it holds; restore
 * the output, run from the job's directory, or reset the job to write it again.
 */
export class SinkFileChangedError extends CheckpointError {
  override name = 'SinkFileChangedError';
  constructor(
    readonly file: string,
    /** What differs. */
    readonly reason: string,
  ) {
    super(
      `file sink: ${file} is not the file the checkpoint recorded: ${reason}; ` +
        "restore the job's output, run it from its own working directory, or reset the job to write it again",
    );
  }
}

/**
 * The output file was disturbed while the job ran, after the sink opened it: renamed, moved or
 * deleted (its folder too), replaced by another file at its path, cut, or written by something
 * else. The sink writes through the file it opened, so before this check its pages went on into
 * the renamed or unlinked file, or over someone's bytes, and were recorded as written. The page
 * that found it is not recorded; when it went into a file that is no longer at the path, it is
 * taken back out of it, so that file holds exactly the pages the checkpoint recorded: put it back
 * at its path and run the job again to resume. Fails the unit, and each unit that writes the
 * file at its next page (the sink does not write the file again in this run). Retryable: the next
 * run retries it, and the sink's checks on open decide there (resumed when the file is back as it
 * was; {@link SinkFileLostError} when it is missing or shorter than recorded).
 */
export class SinkFileDisturbedError extends UnitError {
  override name = 'SinkFileDisturbedError';
  constructor(
    /** The output file (the path the sink opened it at). */
    readonly file: string,
    /** What happened to it. */
    readonly reason: string,
  ) {
    super(
      `file sink: ${file} ${reason} while the job ran; the sink stopped writing it, and no page after the last one recorded counts as written. ` +
        'If the file was moved, move it back unchanged and run the job again to resume; otherwise restore it, or reset the job to write it again',
      { retryable: true },
    );
  }
}

/**
 * Two outputs would write one file: a unit's file is a part of another output that rotates
 * (`report.1.jsonl` is part 1 of `report.jsonl`), two paths name one file through a symbolic or
 * hard link, or another file sink of the run writes it. Either writer would cut, remove or
 * overwrite rows the other's checkpoint acknowledged, so the sink refuses before it touches the
 * file. Not retryable: the same paths collide again. Thrown by `open` (the pipeline rejects) or by
 * the first page of the second output (its unit fails; the other units go on).
 */
export class SinkFileConflictError extends UnitError {
  override name = 'SinkFileConflictError';
  constructor(
    /** The files that collide: the one already claimed first, then the one refused. */
    readonly files: readonly string[],
    /** How they collide. */
    readonly reason: string,
  ) {
    super(
      `file sink: ${files.join(' and ')} ${reason}; the sink does not touch the second, since either writer would cut, remove or overwrite rows of the other: give each output a file of its own`,
      { retryable: false },
    );
  }
}

/** Who holds an output, as far as its hold says: its job's checkpoint id and its process. */
export interface SinkFileHolder {
  /** The id of the other job's checkpoint, when its hold names it. */
  checkpoint?: string;
  /** The other file sink's id. */
  sink?: string;
  pid: number;
  host: string;
  /** When it took the hold (ISO 8601). */
  since: string;
}

/**
 * Another job (another process, or another run of this process) holds the output: its file sink
 * writes the file now, and would have its acknowledged rows cut, moved aside or written over by
 * this one. Nothing was touched. Thrown by `open` for a fixed path (the pipeline rejects) or by a
 * unit's first page to the file (the unit fails; the other units go on). Retryable: once the
 * other job ends (or dies: the hold of a process that is gone is taken over at once on its host,
 * one not refreshed for 30 s from another host), the next run writes the file. When it is held
 * by no one known (`holder` null), or was taken from this sink while it ran (`reason`), it says so.
 */
export class SinkFileHeldError extends UnitError {
  override name = 'SinkFileHeldError';
  /** The other holder, as far as its hold says (null when it cannot be read). */
  readonly holder: SinkFileHolder | null;
  constructor(
    /** The output file (the path this sink names it by). */
    readonly file: string,
    holder: (LockOwner & { details?: Record<string, unknown> }) | null,
    /** The hold's folder. */
    readonly hold: string,
    /** Set when the hold was this sink's and was taken from it while it ran. */
    reason?: string,
  ) {
    const details = holder?.details ?? {};
    const job = typeof details.checkpoint === 'string' ? details.checkpoint : undefined;
    const sink = typeof details.sink === 'string' ? details.sink : undefined;
    const who = holder
      ? `${job === undefined ? 'another job' : `the job of checkpoint ${JSON.stringify(job)}`}${sink === undefined ? '' : ` (file sink ${JSON.stringify(sink)})`}, pid ${holder.pid} on ${holder.host} since ${holder.since}`
      : 'another process (its hold cannot be read)';
    super(
      reason === undefined
        ? `file sink: ${file} is held by ${who}, which writes it; this sink touched nothing. ` +
            `Let that job end and run this one again, or give this job another output file; a job killed for good leaves its hold (${hold}), which is taken over at once on its host, or 30 s after its last refresh from another host`
        : `file sink: ${file} is no longer held by this job (${reason}), so another job may write it; the sink stopped writing it. Make sure one job at a time writes the file, then run this job again`,
      { retryable: true },
    );
    this.holder = holder && {
      ...(job !== undefined && { checkpoint: job }),
      ...(sink !== undefined && { sink }),
      pid: holder.pid,
      host: holder.host,
      since: holder.since,
    };
  }
}

/**
 * A path function returned no usable file path for a unit: not a string, an empty one, or one that
 * names a folder (it ends with a separator, or a folder is there). Fails the unit before anything
 * is created; not retryable, since the function returns the same again.
 */
export class SinkFilePathError extends UnitError {
  override name = 'SinkFilePathError';
  constructor(
    /** The unit whose path it is. */
    readonly unit: string,
    /** What the path function returned. */
    readonly returned: unknown,
    /** Why it is no file path. */
    readonly reason: string,
  ) {
    super(
      `file sink: the path function, for unit ${JSON.stringify(unit)}, returned ${describe(returned)}, which ${reason}`,
      { retryable: false },
    );
  }
}

/** A value for messages: a string quoted, anything else by its type. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number' || typeof value === 'boolean')
    return `a ${typeof value} (${value})`;
  return `a ${typeof value}`;
}
