import { type Checkpoint, describeOwner, type LockOwner, summarize } from '@checkpointkit/core';
import { printable } from '../excerpt.js';
import type { Colors } from '../output.js';
import { percentText } from './percent.js';
import { countsText, statusText } from './status.js';
import { table } from './table.js';
import { age, dateTime } from './time.js';

/** Where a shown checkpoint came from. */
export interface Origin {
  /** `file store at .checkpoints`, or the path of a file that was read directly. */
  source: string;
  /** The format the file was written in, when it was read from a file. */
  format?: string;
  lock: LockOwner | null;
}

/**
 * The heading lines of `show`: status, progress, items, times, saves, counters. Every string of
 * the checkpoint (and the lock's host) is printed through {@link printable}.
 */
export function summaryLines(
  checkpoint: Checkpoint,
  origin: Origin,
  c: Colors,
  now = Date.now(),
): string[] {
  const summary = summarize(checkpoint);
  const rows: string[][] = [];
  const lock = origin.lock
    ? c.yellow(`locked by ${printable(describeOwner(origin.lock))}`)
    : 'not locked';
  rows.push(['status', `${statusText(summary.status, c)} (${lock})`]);
  // A seed 002 operation is one unit of many items: its progress is the items'.
  const measured =
    summary.basis === 'items'
      ? `${summary.items.done}/${summary.items.total} items`
      : `${summary.counts.complete}/${summary.total} units complete`;
  rows.push([
    'progress',
    `${percentText(summary.percent)}  ${measured} (${countsText(summary.counts, c)})`,
  ]);
  if (summary.items.done > 0 || summary.items.total !== null) {
    const of = summary.items.total !== null ? ` of ${summary.items.total}` : '';
    rows.push(['items', `${summary.items.done}${of} done`]);
  }
  rows.push(['created', `${dateTime(summary.createdAt)} (${age(summary.createdAt, now)})`]);
  rows.push(['updated', `${dateTime(summary.updatedAt)} (${age(summary.updatedAt, now)})`]);
  const reason = summary.lastSaveReason ? `, last: ${printable(summary.lastSaveReason)}` : '';
  rows.push(['saves', `${summary.saveCount}${reason}`]);
  if (checkpoint.configDigest)
    rows.push(['config', `sha256 ${checkpoint.configDigest.slice(0, 16)}…`]);
  const stats = Object.entries(summary.stats);
  if (stats.length > 0)
    rows.push(['stats', stats.map(([k, v]) => `${printable(k)} ${v}`).join(', ')]);
  const maps = Object.entries(summary.idMaps);
  if (maps.length > 0) {
    rows.push([
      'id maps',
      maps.map(([k, v]) => `${printable(k)} ${v} ${v === 1 ? 'id' : 'ids'}`).join(', '),
    ]);
  }
  const meta = Object.keys(checkpoint.meta.user);
  if (meta.length > 0) rows.push(['meta', meta.map(printable).join(', ')]);
  const source = origin.format ? `${origin.source} (${origin.format})` : origin.source;
  rows.push(['source', printable(source)]);
  return [c.bold(printable(summary.id)), ...table(rows).map((line) => `  ${line}`)];
}
