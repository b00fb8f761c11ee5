/** A checkpoint's summary as Markdown: what Copy Summary puts on the clipboard. */
import type { Checkpoint, CheckpointSummary } from '@checkpointkit/core';
import { phaseProgress } from './phases.js';
import { formatLabel } from './present.js';

/** Width of the text progress bars. */
const BAR = 20;

/** `██████░░░░` for a percentage. */
export function textBar(percent: number, width = BAR): string {
  const full = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

export interface SummaryContext {
  file: string;
  format: string;
}

/** The summary with a text bar per phase, counters, id maps and the failed units' errors (first 20). */
export function summaryMarkdown(
  checkpoint: Checkpoint,
  summary: CheckpointSummary,
  context: SummaryContext,
): string {
  const c = summary.counts;
  const format = formatLabel(context.format);
  const lines = [
    `# ${summary.id}`,
    '',
    // A one-unit job with a known total (seed 002) is measured in its items.
    `${summary.status}, ${summary.percent.toFixed(1)}% complete: ` +
      (summary.basis === 'items' ? `${summary.items.done} of ${summary.items.total} items, ` : '') +
      `${c.complete} of ${summary.total} units complete, ` +
      `${c.in_progress} in progress, ${c.pending} pending, ${c.failed} failed.`,
    '',
    `File: ${context.file}${format ? ` (${format})` : ''}  `,
    `Updated ${summary.updatedAt}, created ${summary.createdAt}, ${summary.saveCount} saves` +
      (summary.lastSaveReason ? ` (last: ${summary.lastSaveReason})` : '') +
      '.',
    '',
    '## Phases',
    '',
  ];
  for (const phase of phaseProgress(checkpoint)) {
    const failed = phase.counts.failed > 0 ? `, ${phase.counts.failed} failed` : '';
    lines.push(
      `- \`${textBar(phase.percent)}\` ${phase.percent.toFixed(1)}% ${phase.phase} (${phase.counts.complete}/${phase.total}${failed})`,
    );
  }
  const stats = Object.entries(summary.stats);
  if (stats.length > 0) {
    lines.push('', '## Counters', '');
    for (const [name, value] of stats) lines.push(`- ${name}: ${value}`);
  }
  const maps = Object.entries(summary.idMaps);
  if (maps.length > 0) {
    lines.push('', '## Id maps', '');
    for (const [name, size] of maps) lines.push(`- ${name}: ${size} ids`);
  }
  if (c.failed > 0) {
    lines.push('', '## Failed units', '');
    let shown = 0;
    for (const [key, unit] of Object.entries(checkpoint.units)) {
      if (unit.status !== 'failed') continue;
      if (shown === 20) {
        lines.push(`- … and ${c.failed - shown} more`);
        break;
      }
      lines.push(`- ${key}: ${unit.error?.message.split('\n')[0] ?? 'failed'}`);
      shown += 1;
    }
  }
  return `${lines.join('\n')}\n`;
}
