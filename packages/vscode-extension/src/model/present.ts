/**
 * How checkpoints and units read in the tree: icons (codicon and theme color ids), descriptions,
 * ages and tooltips. Pure: no VS Code import, so it is tested without an editor.
 */
import type {
  CheckpointSummary,
  Json,
  LockOwner,
  RunStatus,
  StatusCounts,
  Unit,
  UnitStatus,
} from '@checkpointkit/core';
import { describeOwner } from '@checkpointkit/core';
import { escapeIcons } from './widget-text.js';

/** A codicon and the theme color to draw it in. */
export interface IconSpec {
  id: string;
  color?: string;
}

const UNIT_ICONS: Record<UnitStatus, IconSpec> = {
  pending: { id: 'circle-large-outline', color: 'testing.iconQueued' },
  in_progress: { id: 'sync', color: 'charts.blue' },
  complete: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
};

export function unitIcon(status: UnitStatus): IconSpec {
  return UNIT_ICONS[status];
}

/** A checkpoint's icon: its run status, and a warning when units failed in a run that did not. */
export function checkpointIcon(status: RunStatus, failedUnits: number): IconSpec {
  if (status === 'failed') return { id: 'error', color: 'testing.iconFailed' };
  if (failedUnits > 0) return { id: 'warning', color: 'list.warningForeground' };
  switch (status) {
    case 'running':
      return { id: 'sync', color: 'charts.blue' };
    case 'completed':
      return { id: 'pass', color: 'testing.iconPassed' };
    default:
      return { id: 'debug-pause', color: 'charts.yellow' };
  }
}

/** A group's icon from the statuses of its units. */
export function groupIcon(counts: StatusCounts): IconSpec {
  if (counts.failed > 0) return { id: 'error', color: 'testing.iconFailed' };
  if (counts.in_progress > 0) return { id: 'sync', color: 'charts.blue' };
  if (counts.pending > 0) return { id: 'circle-large-outline', color: 'testing.iconQueued' };
  return { id: 'pass', color: 'testing.iconPassed' };
}

/** `just now`, `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAge(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return 'unknown age';
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** How a document format reads: `seed 002 v2.0`; nothing for the canonical one. */
export function formatLabel(format: string): string | null {
  if (format === 'checkpointkit/1') return null;
  const match = /^seed-(\d{3})(?:\/(.+))?$/.exec(format);
  return match ? `seed ${match[1]}${match[2] ? ` v${match[2]}` : ''}` : format;
}

/** `42.0% · 3 failed · 5 min ago`, plus the format of a seed file and `locked` when a job holds it. */
export function checkpointDescription(
  summary: CheckpointSummary,
  options: { now: number; format: string; locked: boolean },
): string {
  const parts = [`${summary.percent.toFixed(1)}%`];
  if (summary.counts.failed > 0) parts.push(`${summary.counts.failed} failed`);
  parts.push(formatAge(summary.updatedAt, options.now));
  const format = formatLabel(options.format);
  if (format) parts.push(format);
  if (options.locked) parts.push('locked');
  return parts.join(' · ');
}

/** `12/40 · 2 failed` for a group. */
export function groupDescription(counts: StatusCounts, total: number): string {
  const failed = counts.failed > 0 ? ` · ${counts.failed} failed` : '';
  return `${counts.complete}/${total}${failed}`;
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * A cursor as one short line: `page 3`, a URL, a token, or compact JSON. Control characters of
 * a string cursor (which a remote API may have chosen) are shown escaped: a line break would end
 * the tooltip's code span and let the rest be read as Markdown.
 */
export function formatCursor(cursor: Json, max = 60): string {
  const raw = typeof cursor === 'string' ? cursor : JSON.stringify(cursor);
  const text = raw.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => CONTROL_ESCAPES[c] ?? unicodeEscape(c));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `attempts 2 · cursor 17 · 340/1000` for a unit. */
export function unitDescription(unit: Unit): string {
  const parts: string[] = [];
  if (unit.status === 'failed' && unit.error)
    parts.push(unit.error.retryable ? 'retryable' : 'not retryable');
  parts.push(`attempts ${unit.attempts}`);
  if (unit.cursor !== null) parts.push(`cursor ${formatCursor(unit.cursor, 40)}`);
  if (unit.total !== null) parts.push(`${unit.done}/${unit.total}`);
  else if (unit.done > 0) parts.push(`${unit.done} done`);
  return parts.join(' · ');
}

/** Markdown for a unit's tooltip: its status, cursor, attempts, times and error. */
export function unitTooltip(key: string, unit: Unit): string {
  const lines = [`**${escapeMarkdown(key)}** — ${unit.status.replace('_', ' ')}`, ''];
  if (unit.error) {
    lines.push(
      `**Error** (${unit.error.retryable ? 'retryable' : 'not retryable'}, ${unit.error.at}):`,
      '',
    );
    lines.push(fence(unit.error.message), '');
  }
  lines.push(`- attempts: ${unit.attempts}`);
  lines.push(`- cursor: \`${formatCursor(unit.cursor, 200).replace(/`/g, "'")}\``);
  lines.push(`- done: ${unit.done}${unit.total !== null ? ` of ${unit.total}` : ''}`);
  if (unit.startedAt) lines.push(`- started: ${unit.startedAt}`);
  if (unit.completedAt) lines.push(`- completed: ${unit.completedAt}`);
  return lines.join('\n');
}

/** Text inside a Markdown code block, whatever backticks it holds. */
export function fence(text: string): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}text\n${text}\n${marks}`;
}

export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

/**
 * Text for Markdown that draws theme icons (the checkpoint tooltip's `$(lock)`): VS Code draws
 * `$(name)` after the Markdown is rendered, so escaping `(` alone is not enough; the `$(` must
 * reach the renderer as `\$(`.
 */
function escapeMarkdownWithIcons(text: string): string {
  return escapeMarkdown(escapeIcons(text));
}

/** Markdown for a checkpoint's tooltip: the summary, the file, the format and who holds the lock. */
export function checkpointTooltip(
  summary: CheckpointSummary,
  options: {
    file: string;
    format: string;
    lockOwner: LockOwner | null;
    tornTail?: boolean;
    lost?: { acked: number; found: number } | null;
  },
): string {
  const c = summary.counts;
  const lines = [
    `**${escapeMarkdownWithIcons(summary.id)}** — ${summary.status}, ${summary.percent.toFixed(1)}% complete`,
    '',
    '| complete | in progress | pending | failed | total |',
    '|---:|---:|---:|---:|---:|',
    `| ${c.complete} | ${c.in_progress} | ${c.pending} | ${c.failed} | ${summary.total} |`,
    '',
  ];
  if (summary.items.done > 0 || summary.items.total !== null) {
    lines.push(
      `- items: ${summary.items.done}${summary.items.total !== null ? ` of ${summary.items.total}` : ''}`,
    );
  }
  for (const [name, value] of Object.entries(summary.stats))
    lines.push(`- ${escapeMarkdownWithIcons(name)}: ${value}`);
  for (const [name, size] of Object.entries(summary.idMaps))
    lines.push(`- id map ${escapeMarkdownWithIcons(name)}: ${size} ids`);
  lines.push(`- updated: ${summary.updatedAt}`, `- created: ${summary.createdAt}`);
  lines.push(
    `- saves: ${summary.saveCount}${summary.lastSaveReason ? ` (last: ${escapeMarkdownWithIcons(summary.lastSaveReason)})` : ''}`,
  );
  const format = formatLabel(options.format);
  lines.push(
    `- file: ${escapeMarkdownWithIcons(options.file)}${format ? ` (${format}, read-only; migrate to edit)` : ''}`,
  );
  if (options.lockOwner) {
    lines.push(
      '',
      `$(lock) Read-only: a job holds its lock (${escapeMarkdownWithIcons(describeOwner(options.lockOwner))}).`,
    );
  }
  // While a job holds the lock, a partly written last batch is the save it is writing as we
  // read (shown once it is complete), or a crash's leftovers it cuts at its next save: no crash.
  if (options.tornTail && !options.lockOwner)
    lines.push('', 'The journal ends in a partly written line (a crash mid-save); it is ignored.');
  if (options.lost) {
    const missing = options.lost.acked - options.lost.found;
    lines.push(
      '',
      `$(warning) **Damaged:** the journal ends at batch ${options.lost.found}, but batch ${options.lost.acked} was saved: ${missing} saved batch${missing === 1 ? ' is' : 'es are'} missing (the file was cut or replaced). What is shown lacks them; \`checkpointkit repair\` keeps the files aside and goes on from here.`,
    );
  }
  return lines.join('\n');
}
