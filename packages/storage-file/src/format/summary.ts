/**
 * A checkpoint's summary straight from its files, for tools that list many checkpoints (the VS
 * Code extension's tree, `checkpointkit ls`): the snapshot's unit columns are counted, and only
 * the units its journal changes are built. A checkpoint of 100,000 units is summarized without
 * building 100,000 unit objects, which is most of what reading it costs.
 */
import {
  type Change,
  type CheckpointSummary,
  emptyCounts,
  measureProgress,
  summarize,
  type Unit,
} from '@checkpointkit/core';
import { toBuffer } from './bytes.js';
import { parseJournal } from './journal.js';
import {
  type CheckpointFilesInput,
  checkPair,
  fileNames,
  type ParsedCheckpoint,
  parseCheckpointFiles,
  replayJournal,
} from './parse.js';
import { decodeSnapshotColumns } from './snapshot.js';
import { checkpointOfColumns, repeatedKey, type UnitTally } from './snapshot-body.js';

/** What {@link summarizeCheckpointFiles} reads: the summary instead of the checkpoint. */
export interface SummarizedCheckpoint extends Omit<ParsedCheckpoint, 'checkpoint'> {
  summary: CheckpointSummary;
}

/**
 * The summary of the checkpoint in a snapshot and its journal: what `summarize()` gives for the
 * checkpoint {@link parseCheckpointFiles} reads from the same bytes, at a fraction of the cost
 * (item sums may differ in the last bits when item counts are fractions, being added in another
 * order). Pure, no I/O. The files are checked as {@link parseCheckpointFiles} checks them, and
 * damage throws the same {@link CheckpointFileError}, so a tool that shows the summary first
 * and reads the checkpoint later will not find damage it did not report.
 */
export function summarizeCheckpointFiles(input: CheckpointFilesInput): SummarizedCheckpoint {
  const { snapshotFile, journalFile } = fileNames(input);
  const columns =
    input.snapshot === null ? null : decodeSnapshotColumns(input.snapshot, snapshotFile);
  if (columns) checkDistinctKeys(columns.body.units.keys as string[], snapshotFile);
  const journal =
    input.journal === null ? null : parseJournal(toBuffer(input.journal), journalFile);
  const base = columns && { id: columns.body.id, seq: columns.body.seq };
  checkPair(base, journal, journalFile);

  // The units the journal changes since the snapshot. A `created` change starts the
  // checkpoint over, and without a snapshot there are no columns: then read it whole.
  const touched = new Set<string>();
  let whole = columns === null;
  for (const batch of journal?.batches ?? []) {
    if (batch.seq <= (base?.seq ?? 0)) continue;
    for (const change of batch.changes) {
      if (change.type === 'created') whole = true;
      else if (isUnitChange(change)) touched.add(change.key);
    }
  }
  if (whole) {
    const { checkpoint, ...rest } = parseCheckpointFiles(input);
    return { ...rest, summary: summarize(checkpoint) };
  }

  const snapshot = checkpointOfColumns(columns!, touched);
  const before = tallyOf(snapshot.checkpoint.units);
  const { checkpoint, tornTail, journalChanges, lost } = replayJournal(
    snapshot,
    journal,
    journalFile,
    input.ack,
  )!;
  const after = tallyOf(checkpoint.units);
  const tally = columns!.tally;
  const counts = { ...tally.counts };
  for (const status of Object.keys(counts) as (keyof typeof counts)[])
    counts[status] += after.counts[status] - before.counts[status];
  const units = tally.units + after.units - before.units;
  const unknownTotals = tally.unknownTotals + after.unknownTotals - before.unknownTotals;
  const itemsTotal = tally.itemsTotal + after.itemsTotal - before.itemsTotal;
  const progress = measureProgress(
    counts,
    {
      done: tally.itemsDone + after.itemsDone - before.itemsDone,
      total: unknownTotals === 0 && units > 0 ? itemsTotal : null,
    },
    checkpoint.meta.user,
    checkpoint.status,
  );
  // Everything but the units' figures is the checkpoint's own, summarized as core does it.
  const summary = { ...summarize({ ...checkpoint, units: {} }), ...progress };
  return { summary, tornTail, journalChanges, lost };
}

function isUnitChange(change: Change): change is Extract<Change, { key: string }> & {
  type: `unit.${string}`;
} {
  return change.type.startsWith('unit.');
}

/** A key twice is damage: refused here as building the units refuses it. */
function checkDistinctKeys(keys: readonly string[], file: string): void {
  const seen = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    if (seen.has(keys[i]!)) repeatedKey(file, keys[i]!, i);
    seen.add(keys[i]!);
  }
}

function tallyOf(units: Record<string, Unit>): UnitTally {
  const tally: UnitTally = {
    counts: emptyCounts(),
    units: 0,
    itemsDone: 0,
    itemsTotal: 0,
    unknownTotals: 0,
  };
  for (const key in units) {
    const unit = units[key]!;
    tally.counts[unit.status] += 1;
    tally.units += 1;
    tally.itemsDone += unit.done;
    if (unit.total === null) tally.unknownTotals += 1;
    else tally.itemsTotal += unit.total;
  }
  return tally;
}
