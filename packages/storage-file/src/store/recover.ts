/**
 * What `repair` rebuilds, as pure logic: given the snapshots that still read and every journal
 * batch that still verifies (from the journal and the previous generation's journal), choose the
 * way to the newest state and say what it recovered and what it could not.
 */
import { applyChange, type Change, type Checkpoint, emptyCheckpoint } from '@checkpointkit/core';

/** A snapshot that decoded and holds this checkpoint. */
export interface SnapshotCandidate {
  kind: 'snapshot' | 'previous snapshot';
  file: string;
  checkpoint: Checkpoint;
  seq: number;
}

/** Where a rebuilt checkpoint starts: a snapshot, or nothing (the journals alone). */
export type RecoveredFrom = SnapshotCandidate['kind'] | 'journal';

export interface Recovery {
  /** The rebuilt state; null when nothing verified (no snapshot and no batch of this checkpoint). */
  state: Checkpoint | null;
  /** The last batch the state holds (0 when none). */
  seq: number;
  from: RecoveredFrom;
  /** The snapshot it started from, when one. */
  file: string | null;
  /** Journal batches replayed on top of the start, and their changes. */
  batches: number;
  changes: number;
  /**
   * Batches after the start that are not in the state, as ranges `[first, last]`: numbered up to
   * the last acknowledged (or the last found) batch, but not found whole in any journal.
   */
  missing: [number, number][];
  /** No snapshot, and batch 1 (which creates the checkpoint) is gone: what came before is redone. */
  historyMissing: boolean;
}

/**
 * Picks the start that reaches furthest without a gap (the snapshot, the previous snapshot, or
 * the journals alone from batch 1), preferring the newest start on a tie, then replays every
 * verified batch after it, gaps included: a batch after a lost one still holds valid changes.
 */
export function recover(
  id: string,
  snapshots: readonly SnapshotCandidate[],
  batches: ReadonlyMap<number, readonly Change[]>,
  acked: number | null,
): Recovery {
  const reach = (seq: number) => {
    let end = seq;
    while (batches.has(end + 1)) end += 1;
    return end;
  };
  type Start = { from: RecoveredFrom; file: string | null; seq: number; state: Checkpoint | null };
  const starts: Start[] = snapshots.map((s) => ({
    from: s.kind,
    file: s.file,
    seq: s.seq,
    state: s.checkpoint,
  }));
  starts.push({ from: 'journal', file: null, seq: 0, state: null });
  let best = starts[0]!;
  for (const start of starts.slice(1)) if (reach(start.seq) > reach(best.seq)) best = start;

  // The snapshot's checkpoint was decoded for this repair alone: replayed on in place.
  let state: Checkpoint | null = best.state;
  let seq = best.seq;
  let replayed = 0;
  let changes = 0;
  const numbers = [...batches.keys()].filter((n) => n > best.seq).sort((a, b) => a - b);
  for (const n of numbers) {
    for (const change of batches.get(n)!) {
      if (change.type === 'created') {
        if (change.id !== id) continue;
        state = emptyCheckpoint(id, change.at, change.configDigest);
      } else {
        // Batch 1 is gone: start from an empty checkpoint (its config digest is unknown).
        state ??= emptyCheckpoint(id, 'at' in change ? change.at : new Date().toISOString(), null);
        applyChange(state, change);
      }
      changes += 1;
    }
    replayed += 1;
    seq = n;
  }
  const top = Math.max(seq, acked ?? 0);
  const missing: [number, number][] = [];
  let next = best.seq + 1; // the first batch not yet accounted for
  for (const n of [...numbers, top + 1]) {
    if (n > next) missing.push([next, Math.min(n - 1, top)]);
    next = Math.max(next, n + 1);
  }
  return {
    state,
    seq,
    from: best.from,
    file: best.file,
    batches: replayed,
    changes,
    missing,
    historyMissing: best.from === 'journal' && state !== null && !batches.has(1),
  };
}
