/**
 * Runs an async task at most once per interval however often it is requested: the first request
 * runs at once, later ones within the interval fold into one run at its end, and a request while
 * the task runs schedules one more run after it. With `leading: false` every run waits one
 * interval after the first request, collecting what comes meanwhile. So a journal that grows many times a second
 * refreshes its checkpoint a few times a second, and always once after the last change.
 */
export class Throttle {
  #last = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #again = false;
  #disposed = false;

  constructor(
    private readonly task: () => Promise<void> | void,
    private readonly intervalMs: number,
    private readonly options: { leading?: boolean; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Asks for a run. */
  request(): void {
    if (this.#disposed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) return;
    const leading = this.options.leading ?? true;
    const wait = leading ? this.#last + this.intervalMs - this.now() : this.intervalMs;
    if (wait <= 0) void this.#run();
    else this.#timer = setTimeout(() => void this.#run(), wait);
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    if (this.#disposed) return;
    this.#running = true;
    this.#last = this.now();
    try {
      await this.task();
    } catch {
      // The task reports its own failures; a throttle only schedules.
    } finally {
      this.#running = false;
    }
    if (this.#again) {
      this.#again = false;
      this.request();
    }
  }

  /** Cancels a pending run; later requests are ignored. */
  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
