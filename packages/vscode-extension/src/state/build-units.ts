/**
 * The units of checkpoints read for their rows (from summaries), built ahead of need: after
 * every row waiting to be read has been read, one checkpoint per turn of the event loop, so that
 * the tree and the commands answer in between and expanding a checkpoint finds its units built.
 */
import { type CheckpointEntry, loaded } from './entry.js';

export class UnitBuilder {
  readonly #queue: CheckpointEntry[] = [];
  #running: Promise<void> | null = null;
  #stopped = false;

  /**
   * `current(entry)`: the entry is still shown (not removed or re-read since); `onDone` runs
   * when the queue is empty again.
   */
  constructor(
    private readonly current: (entry: CheckpointEntry) => boolean,
    private readonly onDone: () => void,
  ) {}

  /** True while entries wait to be built. */
  get busy(): boolean {
    return this.#running !== null || this.#queue.length > 0;
  }

  /** Builds `entry`'s units at the next {@link start}. */
  add(entry: CheckpointEntry): void {
    if (!this.#stopped) this.#queue.push(entry);
  }

  /** Starts building what was added, unless it is under way. */
  start(): void {
    if (this.#running || this.#stopped || this.#queue.length === 0) return;
    this.#running = this.#run().finally(() => {
      this.#running = null;
      this.onDone();
    });
  }

  async #run(): Promise<void> {
    for (let entry = this.#queue.shift(); entry; entry = this.#queue.shift()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#stopped) return;
      const value = loaded(entry);
      if (!value || value.built || !this.current(entry)) continue;
      try {
        void value.tree;
      } catch {
        // The same bytes gave a summary; if they ever do not give units, expanding says why.
      }
    }
  }

  dispose(): void {
    this.#stopped = true;
    this.#queue.length = 0;
  }
}
