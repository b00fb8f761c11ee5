import type { Checkpoint, Unit } from '@checkpointkit/core';
import type { Colors } from '../output.js';
import { dateTime } from './time.js';
import { cursorText } from './tree.js';

export interface FailedUnit {
  key: string;
  unit: Unit;
}

const collator = new Intl.Collator('en', { numeric: true });

/** The failed units of a checkpoint, in key order. */
export function failedUnits(checkpoint: Checkpoint): FailedUnit[] {
  return Object.entries(checkpoint.units)
    .filter(([, unit]) => unit.status === 'failed')
    .sort(([a], [b]) => collator.compare(a, b))
    .map(([key, unit]) => ({ key, unit }));
}

/** Each failed unit with its error and whether a retry may help; `limit` caps the list. */
export function failedLines(failed: FailedUnit[], c: Colors, limit = Infinity): string[] {
  const lines: string[] = [];
  for (const { key, unit } of failed.slice(0, limit)) {
    const facts = [
      unit.error?.retryable === false ? c.red('not retryable') : c.yellow('retryable'),
      `attempts ${unit.attempts}`,
    ];
    if (unit.cursor !== null) facts.push(`cursor ${cursorText(unit.cursor)}`);
    if (unit.error) facts.push(dateTime(unit.error.at));
    lines.push(`  ${c.bold(key)}  ${facts.join(', ')}`);
    lines.push(`    ${unit.error?.message ?? '(no error recorded)'}`);
  }
  if (failed.length > limit) {
    lines.push(c.dim(`  … ${failed.length - limit} more (--all shows every one)`));
  }
  return lines;
}
