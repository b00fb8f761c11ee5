/**
 * The Show Summary page: a stacked progress bar per phase (complete, in progress, failed,
 * pending), the counters, id maps and failed units. Static HTML under a strict Content Security
 * Policy (no scripts; styles only with the nonce; bars are SVG, so no inline style attributes).
 */
import type { Checkpoint, CheckpointSummary, StatusCounts } from '@checkpointkit/core';
import { phaseProgress } from './phases.js';
import { formatLabel } from './present.js';
import type { SummaryContext } from './summary-text.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const SEGMENTS: { status: keyof StatusCounts; label: string }[] = [
  { status: 'complete', label: 'complete' },
  { status: 'in_progress', label: 'in progress' },
  { status: 'failed', label: 'failed' },
  { status: 'pending', label: 'pending' },
];

/** An SVG bar with one rectangle per status, widths in percent of `total`. */
export function stackedBar(counts: StatusCounts, total: number): string {
  let x = 0;
  const rects: string[] = [];
  for (const { status } of SEGMENTS) {
    if (total === 0 || counts[status] === 0) continue;
    const width = (counts[status] / total) * 100;
    rects.push(
      `<rect class="${status}" x="${x.toFixed(3)}%" y="0" width="${width.toFixed(3)}%" height="100%"/>`,
    );
    x += width;
  }
  return `<svg class="bar" role="img" aria-label="${SEGMENTS.map((s) => `${counts[s.status]} ${s.label}`).join(', ')}">${rects.join('')}</svg>`;
}

const STYLE = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1.5em 2em; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
.meta { color: var(--vscode-descriptionForeground); margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; width: 100%; max-width: 60em; }
th, td { text-align: left; padding: 0.25em 1em 0.25em 0; vertical-align: middle; white-space: nowrap; }
td.text { white-space: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bar-cell { width: 60%; }
.bar { width: 100%; min-width: 6em; height: 0.9em; background: var(--vscode-editorWidget-background); display: block; }
.complete { fill: var(--vscode-testing-iconPassed, #388a34); }
.in_progress { fill: var(--vscode-charts-blue, #1a85ff); }
.failed { fill: var(--vscode-testing-iconFailed, #f14c4c); }
.pending { fill: var(--vscode-disabledForeground, #888); opacity: 0.4; }
.legend span { margin-right: 1.2em; }
.legend svg { width: 0.8em; height: 0.8em; vertical-align: middle; margin-right: 0.3em; }
code { font-family: var(--vscode-editor-font-family); }
`;

function legend(): string {
  return `<p class="legend">${SEGMENTS.map(
    (s) =>
      `<span><svg><rect class="${s.status}" width="100%" height="100%"/></svg>${s.label}</span>`,
  ).join('')}</p>`;
}

/** The whole page. `cspSource` is the webview's own source; `nonce` unlocks the one style block. */
export function summaryHtml(
  checkpoint: Checkpoint,
  summary: CheckpointSummary,
  context: SummaryContext & { cspSource: string; nonce: string },
): string {
  const format = formatLabel(context.format);
  const phases = phaseProgress(checkpoint);
  const rows = phases
    .map(
      (p) =>
        `<tr><th>${escapeHtml(p.phase)}</th><td class="bar-cell">${stackedBar(p.counts, p.total)}</td>` +
        `<td class="num">${p.percent.toFixed(1)}%</td><td class="num">${p.counts.complete}/${p.total}</td>` +
        `<td class="num">${p.counts.failed > 0 ? `${p.counts.failed} failed` : ''}</td></tr>`,
    )
    .join('\n');
  const list = (title: string, entries: [string, string][]) =>
    entries.length === 0
      ? ''
      : `<h2>${title}</h2><table>${entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td class="num">${escapeHtml(v)}</td></tr>`).join('')}</table>`;
  const failed = Object.entries(checkpoint.units)
    .filter(([, unit]) => unit.status === 'failed')
    .slice(0, 50)
    .map(
      ([key, unit]) =>
        `<tr><th><code>${escapeHtml(key)}</code></th><td class="text">${escapeHtml(unit.error?.message ?? 'failed')}</td></tr>`,
    )
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${context.cspSource}; style-src 'nonce-${context.nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(summary.id)}</title>
<style nonce="${context.nonce}">${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(summary.id)}</h1>
<p class="meta">${escapeHtml(summary.status)} · ${summary.percent.toFixed(1)}% complete · updated ${escapeHtml(summary.updatedAt)} · ${escapeHtml(context.file)}${format ? ` (${escapeHtml(format)})` : ''}</p>
<h2>Overall</h2>
<table><tr><th>all units</th><td class="bar-cell">${stackedBar(summary.counts, summary.total)}</td><td class="num">${summary.percent.toFixed(1)}%</td><td class="num">${summary.counts.complete}/${summary.total}</td><td class="num">${summary.counts.failed > 0 ? `${summary.counts.failed} failed` : ''}</td></tr></table>
${legend()}
<h2>Phases</h2>
<table class="phases">
${rows}
</table>
${list(
  'Counters',
  Object.entries(summary.stats).map(([k, v]) => [k, String(v)]),
)}
${list(
  'Id maps',
  Object.entries(summary.idMaps).map(([k, v]) => [k, `${v} ids`]),
)}
${failed ? `<h2>Failed units</h2><table>${failed}</table>` : ''}
</body>
</html>`;
}
