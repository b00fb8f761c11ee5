/** Progress per phase: the first segment of the unit keys (`collect` of `collect/acme/pulls`). */
import {
  type Checkpoint,
  emptyCounts,
  KEY_SEPARATOR,
  percentOf,
  type StatusCounts,
} from '@checkpointkit/core';

export interface PhaseProgress {
  phase: string;
  counts: StatusCounts;
  total: number;
  /** Complete units as a share of the phase's units, 0 to 100 with one decimal. */
  percent: number;
}

/** The phases in the order their first unit appears, each with its counts. */
export function phaseProgress(checkpoint: Checkpoint): PhaseProgress[] {
  const phases = new Map<string, PhaseProgress>();
  for (const key in checkpoint.units) {
    const end = key.indexOf(KEY_SEPARATOR);
    const phase = end < 0 ? key : key.slice(0, end);
    let entry = phases.get(phase);
    if (!entry) {
      entry = { phase, counts: emptyCounts(), total: 0, percent: 0 };
      phases.set(phase, entry);
    }
    entry.counts[checkpoint.units[key]!.status] += 1;
    entry.total += 1;
  }
  for (const entry of phases.values())
    entry.percent = percentOf(entry.counts.complete, entry.total);
  return [...phases.values()];
}
