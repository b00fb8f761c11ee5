/** What a save strategy sees: the work done since the last save, and the latest rate limit. */
export interface SaveContext {
  /** Changes recorded since the last save. */
  changes: number;
  /** Units completed or failed since the last save. */
  units: number;
  /** Items (records, events, rows) processed since the last save. */
  items: number;
  /** Milliseconds since the last save (or since the run opened). */
  elapsedMs: number;
  /** The latest rate limit reported since the last save, if any. */
  rateLimit: RateLimitInfo | null;
  /** Pages (`run.progress` calls) recorded since the last save. Runs always fill it in. */
  pages?: number;
  /**
   * What a flush of this run's store has been taking, in milliseconds (a moving average of the
   * recent ones), or null before the first. Runs always fill it in.
   */
  flushMs?: number | null;
}

/** Rate-limit state as an API reports it (GitHub's x-ratelimit-* headers, for example). */
export interface RateLimitInfo {
  remaining: number;
  limit: number;
  /** ISO 8601 time the window resets, when known. */
  resetAt?: string | undefined;
  /** The limit's name, such as GitHub's `core` or `search`. */
  resource?: string | undefined;
}

/** Whether to save now, and why: the reason is recorded as the checkpoint's lastSaveReason. */
export interface SaveDecision {
  save: boolean;
  reason: string;
}

/** Decides when a run flushes. Write your own by implementing `decide`. */
export interface SaveStrategy {
  /** Describes the strategy, for messages: `every 100 units`. */
  readonly description: string;
  decide(context: SaveContext): SaveDecision;
}

const no = (reason: string): SaveDecision => ({ save: false, reason });

/** Save after every `n` completed or failed units. */
export function everyUnits(n: number): SaveStrategy {
  positive('everyUnits', n);
  return {
    description: `every ${n} unit${n === 1 ? '' : 's'}`,
    decide: ({ units }) =>
      units >= n
        ? {
            save: true,
            reason: `Progress: ${units} unit${units === 1 ? '' : 's'} done (every ${n})`,
          }
        : no(`Progress: ${units}/${n} units`),
  };
}

/** Save after every `n` items (records, events) processed. */
export function everyItems(n: number): SaveStrategy {
  positive('everyItems', n);
  return {
    description: `every ${n} items`,
    decide: ({ items }) =>
      items >= n
        ? { save: true, reason: `Progress: ${items} items (every ${n})` }
        : no(`Progress: ${items}/${n} items`),
  };
}

/** Save when `ms` milliseconds have passed since the last save. */
export function everyMs(ms: number): SaveStrategy {
  positive('everyMs', ms);
  return {
    description: `every ${formatMs(ms)}`,
    decide: ({ elapsedMs }) =>
      elapsedMs >= ms
        ? {
            save: true,
            reason: `Time: ${formatMs(elapsedMs)} since last save (every ${formatMs(ms)})`,
          }
        : no(`Time: ${formatMs(elapsedMs)} of ${formatMs(ms)}`),
  };
}

/**
 * Save when the remaining share of an API's rate limit falls to `fraction` (0.2 = 20%) or below,
 * so that a job stopped by the limit loses nothing.
 */
export function onRateLimit(fraction: number): SaveStrategy {
  if (!(fraction > 0 && fraction <= 1))
    throw new RangeError(`onRateLimit: fraction must be in (0, 1], got ${fraction}`);
  const threshold = `${(fraction * 100).toFixed(1)}% threshold`;
  return {
    description: `when the rate limit falls to ${(fraction * 100).toFixed(1)}%`,
    decide: ({ rateLimit }) => {
      if (!rateLimit || rateLimit.limit <= 0) return no('Rate-limit: unknown');
      const share = rateLimit.remaining / rateLimit.limit;
      const text = `Rate-limit: ${rateLimit.remaining}/${rateLimit.limit} (${(share * 100).toFixed(1)}% remaining`;
      return share <= fraction
        ? { save: true, reason: `${text} <= ${threshold})` }
        : no(`${text} > ${threshold})`);
    },
  };
}

/**
 * Save after every page (every `run.progress`, which `pipeline()` calls once a page), so that a
 * crash redoes at most the pages in flight, unless saving that often would take more than
 * `maxShare` of the job's time (default 0.05: pages that come faster than 19 flushes' time):
 * then save once the work since the last save is worth that many flushes, which holds saving to
 * about that share of the time and the redo to that much work (19 flushes' worth, some tens of
 * milliseconds with the file store). With an API's pages (tens of milliseconds or more) and a
 * local store (a millisecond or two a flush) that is every page.
 */
export function everyPage(options: { maxShare?: number } = {}): SaveStrategy {
  const share = options.maxShare ?? 0.05;
  if (!(share > 0 && share <= 1))
    throw new RangeError(`everyPage: maxShare must be in (0, 1], got ${share}`);
  const percent = `${Math.round(share * 100)}%`;
  return {
    description: `every page (saving at most ${percent} of the time)`,
    decide: ({ pages = 0, elapsedMs, flushMs = null }) => {
      if (pages === 0) return no('Page: none since last save');
      const plural = pages === 1 ? '' : 's';
      // Saving now keeps saves at `share` of the time when the work since the last save took
      // at least (1 - share) / share flushes' time.
      const wait = flushMs === null ? 0 : (flushMs * (1 - share)) / share;
      if (elapsedMs >= wait) {
        return {
          save: true,
          reason:
            pages === 1
              ? 'Page: 1 page since last save'
              : `Page: ${pages} pages in ${formatMs(elapsedMs)} (a save takes ~${formatMs(flushMs ?? 0)}, at most ${percent} of the time)`,
        };
      }
      return no(`Page: ${pages} page${plural} in ${formatMs(elapsedMs)} of ${formatMs(wait)}`);
    },
  };
}

/** Save after every change. */
export function always(): SaveStrategy {
  return { description: 'always', decide: () => ({ save: true, reason: 'Always' }) };
}

/** Save when any of the strategies says so (OR). The reason is the first one that does. */
export function anyOf(...strategies: SaveStrategy[]): SaveStrategy {
  nonEmpty('anyOf', strategies);
  return {
    description: strategies.map((s) => s.description).join(' or '),
    decide(context) {
      const decisions = strategies.map((s) => s.decide(context));
      return decisions.find((d) => d.save) ?? no(decisions.map((d) => d.reason).join(' OR '));
    },
  };
}

/** Save only when all of the strategies say so (AND). The reason joins theirs. */
export function allOf(...strategies: SaveStrategy[]): SaveStrategy {
  nonEmpty('allOf', strategies);
  return {
    description: strategies.map((s) => s.description).join(' and '),
    decide(context) {
      const decisions = strategies.map((s) => s.decide(context));
      return {
        save: decisions.every((d) => d.save),
        reason: decisions.map((d) => d.reason).join(' AND '),
      };
    },
  };
}

function positive(name: string, n: number): void {
  if (!(Number.isFinite(n) && n > 0))
    throw new RangeError(`${name}: expected a positive number, got ${n}`);
}

function nonEmpty(name: string, strategies: SaveStrategy[]): void {
  if (strategies.length === 0) throw new RangeError(`${name}: give at least one strategy`);
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`;
}
