import type { Checkpoint, Unit } from '@checkpointkit/core';
import { printable } from '../excerpt.js';
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

/**
 * Each failed unit with its error and whether a retry may help; `limit` caps the list. An error
 * message is often an API's answer: printed through {@link printable}, one line, never a control.
 */
export function failedLines(failed: FailedUnit[], c: Colors, limit = Infinity): string[] {
  const lines: string[] = [];
  for (const { key, unit } of failed.slice(0, limit)) {
    const facts = [
      unit.error?.retryable === false ? c.red('not retryable') : c.yellow('retryable'),
      `attempts ${unit.attempts}`,
    ];
    if (unit.cursor !== null) facts.push(`cursor ${cursorText(unit.cursor)}`);
    if (unit.error) facts.push(dateTime(unit.error.at));
    lines.push(`  ${c.bold(printable(key))}  ${facts.join(', ')}`);
    lines.push(`    ${unit.error ? printable(unit.error.message) : '(no error recorded)'}`);
    const cause = unit.error?.cause;
    // The structured cause, for the reader who must tell a 404 from a 403 at a glance.
    if (cause) {
      const parts = [
        cause.status !== undefined && `status ${cause.status}`,
        cause.errcode && `errcode ${cause.errcode}`,
        cause.code && `code ${cause.code}`,
        cause.url && cause.url,
      ].filter((part): part is string => typeof part === 'string' && part !== '');
      if (parts.length > 0) lines.push(c.dim(`    ${printable(parts.join(', '))}`));
    }
  }
  if (failed.length > limit) {
    lines.push(c.dim(`  … ${failed.length - limit} more (--all shows every one)`));
  }
  return lines;
}
