/**
 * The units of checkpoints shown by their summaries, built ahead of need: one checkpoint per turn
 * of the event loop, so that the tree and the commands answer in between.
 */
import { type CheckpointEntry, loaded } from './entry.js';

/**
 * Builds the units (checkpoint and unit tree) of each loaded entry that has not built them,
 * while `current(entry)` says it is still shown; stops when `stopped()`.
 */
export async function buildUnits(
  entries: readonly CheckpointEntry[],
  current: (entry: CheckpointEntry) => boolean,
  stopped: () => boolean,
): Promise<void> {
  for (const entry of entries) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stopped()) return;
    const value = loaded(entry);
    if (!value || value.built || !current(entry)) continue;
    try {
      void value.tree;
    } catch {
      // The same bytes gave a summary; if they ever do not give units, expanding says why.
    }
  }
}
