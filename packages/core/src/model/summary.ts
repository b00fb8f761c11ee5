import type { Checkpoint, RunStatus, UnitStatus } from './schema.js';

export type StatusCounts = Record<UnitStatus, number>;

/** What a person wants to know about a checkpoint at a glance. */
export interface CheckpointSummary {
  id: string;
  status: RunStatus;
  /** Number of units. */
  total: number;
  counts: StatusCounts;
  /** Units not complete yet (pending, in progress and failed). */
  remaining: number;
  /** Complete units as a share of all units, 0 to 100 rounded to one decimal (see {@link percentOf}); 100 when there are none. */
  percent: number;
  /** Items done across all units, and their declared totals where known. */
  items: { done: number; total: number | null };
  stats: Record<string, number>;
  idMaps: Record<string, number>;
  createdAt: string;
  updatedAt: string;
  saveCount: number;
  lastSaveReason: string | null;
}

export function emptyCounts(): StatusCounts {
  return { pending: 0, in_progress: 0, complete: 0, failed: 0 };
}

/**
 * `part` of `whole` in percent, rounded to one decimal (26 of 30 is 86.7), so that a bar, a line
 * and a table that print it agree. Rounding never shows 100 before every unit is complete, nor 0
 * once one is: those are clamped to 99.9 and 0.1.
 */
export function percentOf(part: number, whole: number): number {
  if (whole === 0 || part >= whole) return 100;
  if (part <= 0) return 0;
  return Math.min(99.9, Math.max(0.1, Math.round((part / whole) * 1000) / 10));
}

/** Totals, counts per status, percent, remaining, counters and timestamps of a checkpoint. */
export function summarize(checkpoint: Checkpoint): CheckpointSummary {
  const counts = emptyCounts();
  let total = 0;
  let itemsDone = 0;
  let itemsTotal = 0;
  let totalsKnown = true;
  for (const key in checkpoint.units) {
    const unit = checkpoint.units[key]!;
    counts[unit.status] += 1;
    total += 1;
    itemsDone += unit.done;
    if (unit.total === null) totalsKnown = false;
    else itemsTotal += unit.total;
  }
  const idMaps: Record<string, number> = {};
  for (const [name, map] of Object.entries(checkpoint.idMaps))
    idMaps[name] = Object.keys(map).length;
  return {
    id: checkpoint.id,
    status: checkpoint.status,
    total,
    counts,
    remaining: total - counts.complete,
    percent: percentOf(counts.complete, total),
    items: { done: itemsDone, total: totalsKnown && total > 0 ? itemsTotal : null },
    stats: { ...checkpoint.stats },
    idMaps,
    createdAt: checkpoint.createdAt,
    updatedAt: checkpoint.updatedAt,
    saveCount: checkpoint.meta.saveCount,
    lastSaveReason: checkpoint.meta.lastSaveReason,
  };
}

/** One line for logs and terminals: `github:acme/pulls running 42.0% (420/1000 units, 3 failed)`. */
export function formatSummaryLine(summary: CheckpointSummary): string {
  const failed = summary.counts.failed > 0 ? `, ${summary.counts.failed} failed` : '';
  return `${summary.id} ${summary.status} ${summary.percent.toFixed(1)}% (${summary.counts.complete}/${summary.total} units${failed})`;
}
