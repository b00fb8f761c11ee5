import type { Checkpoint, RunStatus, UnitStatus } from './schema.js';

export type StatusCounts = Record<UnitStatus, number>;

/** What a person wants to know about a checkpoint at a glance. */
export interface CheckpointSummary {
  id: string;
  status: RunStatus;
  /**
   * Number of units: those in the checkpoint, or the number it declares in
   * `meta.user.plannedUnits` when that is larger (a seed 000 file counts its pages in
   * `statistics.total_pages` but lists only finished ones); the missing ones count as pending.
   */
  total: number;
  counts: StatusCounts;
  /** Units not complete yet (pending, in progress and failed). */
  remaining: number;
  /**
   * Progress, 0 to 100 rounded to one decimal (see {@link percentOf}): complete units as a share
   * of all units, or, when {@link CheckpointSummary.basis} is `items`, items done as a share of
   * their total.
   */
  percent: number;
  /**
   * What {@link CheckpointSummary.percent} measures: `items` for a checkpoint of one unit whose
   * total is known (a seed 002 operation: 750 of 1000 items), else `units`.
   */
  basis: 'units' | 'items';
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
 * once one is: those are clamped to 99.9 and 0.1. A `whole` of 0 gives 100 (nothing left to do);
 * where that depends on more, as for a checkpoint with no units, see {@link measureProgress}.
 */
export function percentOf(part: number, whole: number): number {
  if (whole === 0 || part >= whole) return 100;
  if (part <= 0) return 0;
  return Math.min(99.9, Math.max(0.1, Math.round((part / whole) * 1000) / 10));
}

/** The progress figures of a summary. */
export type Progress = Pick<
  CheckpointSummary,
  'total' | 'counts' | 'remaining' | 'percent' | 'basis' | 'items'
>;

/**
 * The progress of a checkpoint from its units' counts and items, the one rule every store's
 * listing uses: units not listed but declared in `meta.user.plannedUnits` count as pending (and
 * leave the items' total unknown); a checkpoint of one unit with a known, non-zero total is
 * measured in items, every other one in complete units. A checkpoint with no units is 100% once
 * its run has completed and 0% before: a job that has not planned its work yet has done none.
 */
export function measureProgress(
  unitCounts: StatusCounts,
  items: { done: number; total: number | null },
  user: Record<string, unknown> | undefined,
  status: RunStatus,
): Progress {
  const counts = { ...unitCounts };
  const listed = counts.pending + counts.in_progress + counts.complete + counts.failed;
  let total = listed;
  let itemsTotal = items.total;
  const planned = user?.['plannedUnits'];
  if (typeof planned === 'number' && Number.isInteger(planned) && planned > listed) {
    counts.pending += planned - listed;
    total = planned;
    itemsTotal = null; // the units not listed have no totals
  }
  // A total of 0 items has nothing to divide: such a unit is measured by its status.
  const basis = total === 1 && itemsTotal !== null && itemsTotal > 0 ? 'items' : 'units';
  let percent: number;
  if (total === 0) percent = status === 'completed' ? 100 : 0;
  else if (basis === 'items') percent = Math.min(100, percentOf(items.done, itemsTotal!));
  else percent = percentOf(counts.complete, total);
  return {
    total,
    counts,
    remaining: total - counts.complete,
    percent,
    basis,
    items: { done: items.done, total: itemsTotal },
  };
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
    ...measureProgress(
      counts,
      { done: itemsDone, total: totalsKnown && total > 0 ? itemsTotal : null },
      checkpoint.meta.user,
      checkpoint.status,
    ),
    stats: { ...checkpoint.stats },
    idMaps,
    createdAt: checkpoint.createdAt,
    updatedAt: checkpoint.updatedAt,
    saveCount: checkpoint.meta.saveCount,
    lastSaveReason: checkpoint.meta.lastSaveReason,
  };
}

/**
 * One line for logs and terminals: `github:acme/pulls running 42.0% (420/1000 units, 3 failed)`,
 * or `(750/1000 items)` when the progress is measured in items.
 */
export function formatSummaryLine(summary: CheckpointSummary): string {
  const failed = summary.counts.failed > 0 ? `, ${summary.counts.failed} failed` : '';
  if (summary.basis === 'items') {
    return `${summary.id} ${summary.status} ${summary.percent.toFixed(1)}% (${summary.items.done}/${summary.items.total} items${failed})`;
  }
  return `${summary.id} ${summary.status} ${summary.percent.toFixed(1)}% (${summary.counts.complete}/${summary.total} units${failed})`;
}
