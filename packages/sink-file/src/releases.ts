import type { Run } from '@checkpointkit/core';
import { partPath } from './parts.js';
import { type FileState, type RecordedFile, sinkStateKey } from './state.js';

/**
 * When a file sink may let go of the holds of a file it closed (see holds.ts): at once when a
 * flush recorded the file's part, else once one has. A hold is what tells this job's next run
 * (after a kill -9) that a file no flush recorded holds this job's own unacknowledged rows, to
 * cut; let go before, the next run would keep the file aside (nothing lost, but a file of rows
 * written twice). Once a flush recorded a part of an output, a resume cuts it back to what was
 * recorded whoever wrote the rest, so its hold is no longer needed.
 */
export class HoldReleases {
  readonly #id: string;
  readonly #letGo: (file: string) => unknown;
  #run: Run | null = null;
  /** Per output (absolute path): the last part a flush is known to have recorded. */
  #saved = new Map<string, number>();
  /** Per output: the meta key (its path as given) of its last page, to read what was recorded. */
  #keys = new Map<string, string>();
  /** Parts closed before a flush was known to have recorded them, by the part's file. */
  #pending = new Map<string, { output: string; part: number; since: number | null }>();
  /** The run's save count at the last look at every pending file, and those added since. */
  #lookedAt = -1;
  #added: string[] = [];

  /** `letGo(file)` lets go of the holds of a closed part's file. */
  constructor(id: string, letGo: (file: string) => unknown) {
    this.#id = id;
    this.#letGo = letGo;
  }

  /**
   * Starts over for `run`: the parts of `recorded` are saved, unless the run holds changes it
   * did not save yet (then they wait for a flush like the others).
   */
  open(run: Run, recorded: Iterable<[output: string, part: number]>): void {
    this.#run = run;
    this.#saved = new Map(run.unsaved === 0 ? recorded : []);
    this.#keys = new Map();
    this.forget();
  }

  /** A page of `output` was written under meta key `key`. */
  wrote(output: string, key: string): void {
    this.#keys.set(output, key);
  }

  /**
   * Part `part` of `output`, in `file`, is being closed: let go of at once when a flush recorded
   * it, else kept pending. Decided before the close: a page that opens the file again meanwhile
   * finds it pending (and keeps the hold), or waits for the release and takes it anew.
   */
  closing(output: string, part: number, file: string): void {
    if ((this.#saved.get(output) ?? -1) >= part) {
      this.#letGo(file);
      return;
    }
    this.#pending.set(file, { output, part, since: null });
    this.#added.push(file);
  }

  /** `file` is opened again: held as long as it is open, whatever a flush recorded. */
  reopened(file: string): void {
    this.#pending.delete(file);
  }

  /**
   * The files of the outputs whose last page written (`written`, per output) the run did not
   * record: their holds must outlive the sink (see holds.ts's `leave`), so that the job's next
   * run knows what they hold is its own. A graceful stop (Ctrl+C) leaves them so: a page
   * written once the run was interrupted is dropped with its cursor, and the sink then closes.
   * The part being written, and the earlier parts closed before a flush recorded them.
   */
  unrecorded(written: ReadonlyMap<string, RecordedFile>): string[] {
    const run = this.#run;
    if (!run) return [];
    const files: string[] = [];
    for (const [output, key] of this.#keys) {
      const page = written.get(output);
      const state = run.checkpoint.meta.user[sinkStateKey(this.#id, key)] as
        | Partial<FileState>
        | undefined;
      if (!page || (state?.bytes === page.bytes && (state.part ?? 0) === page.part)) continue;
      files.push(partPath(output, page.part));
      for (const [file, pending] of this.#pending)
        if (pending.output === output && file !== partPath(output, page.part)) files.push(file);
    }
    return files;
  }

  /** Forgets the pending parts (their holds go with the sink's, or stay until it closes). */
  forget(): void {
    this.#pending = new Map();
    this.#added = [];
  }

  /**
   * Lets go of the pending parts a flush recorded. A part's state is recorded with its page's
   * cursor (in the run's live checkpoint) after the write; once seen there, with the run's save
   * count then at `since`, the flush that brings it to `since + 2` started after it was seen
   * (flushes take turns, and each saves every change recorded before it started), so it saved it.
   * Looks at every pending part when the count moved, else only at those added since: a sink
   * written to without pipeline(), whose pages nobody records, keeps them all pending.
   */
  settle(): void {
    const run = this.#run;
    if (!run || this.#pending.size === 0) return;
    const count = run.checkpoint.meta.saveCount;
    const look = count === this.#lookedAt ? this.#added : [...this.#pending.keys()];
    this.#lookedAt = count;
    this.#added = [];
    for (const file of look) {
      const entry = this.#pending.get(file);
      if (!entry) continue;
      if (entry.since === null) {
        const key = this.#keys.get(entry.output);
        const state =
          key === undefined ? undefined : run.checkpoint.meta.user[sinkStateKey(this.#id, key)];
        const part = (state as { part?: unknown } | undefined)?.part ?? 0;
        if (state === undefined || typeof part !== 'number' || part < entry.part) continue;
        entry.since = count;
      }
      if (count < entry.since + 2) continue;
      this.#pending.delete(file);
      this.#saved.set(entry.output, Math.max(entry.part, this.#saved.get(entry.output) ?? -1));
      this.#letGo(file);
    }
  }
}
