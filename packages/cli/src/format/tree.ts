import {
  emptyCounts,
  KEY_SEPARATOR,
  keySegments,
  type StatusCounts,
  type Unit,
} from '@checkpointkit/core';
import { printable } from '../excerpt.js';
import type { Colors } from '../output.js';
import { countsText, statusText } from './status.js';

/** A group of units sharing a key prefix, or one unit (or both: a key can be a prefix of another). */
export interface TreeNode {
  /** The key segments this node adds to its parent's, joined by `/` when a chain was merged. */
  name: string;
  /** The full key (prefix) of this node. */
  path: string;
  counts: StatusCounts;
  /** Number of units at and below this node. */
  total: number;
  unit: Unit | null;
  children: TreeNode[];
}

interface Building {
  name: string;
  path: string;
  counts: StatusCounts;
  total: number;
  unit: Unit | null;
  children: Map<string, Building>;
}

const collator = new Intl.Collator('en', { numeric: true });

/** Groups units by their key path segments, with counts per status at every level. */
export function buildTree(units: Record<string, Unit>): TreeNode {
  const root: Building = node('', '');
  for (const [key, unit] of Object.entries(units)) {
    let at = root;
    count(at, unit);
    for (const segment of keySegments(key)) {
      let child = at.children.get(segment);
      if (!child) {
        child = node(segment, at === root ? segment : at.path + KEY_SEPARATOR + segment);
        at.children.set(segment, child);
      }
      at = child;
      count(at, unit);
    }
    at.unit = unit;
  }
  return freeze(root);
}

function node(name: string, path: string): Building {
  return { name, path, counts: emptyCounts(), total: 0, unit: null, children: new Map() };
}

function count(at: Building, unit: Unit): void {
  at.counts[unit.status] += 1;
  at.total += 1;
}

/** Sorts children by key (numbers in order) and merges chains of single-child groups: `acme/api`. */
function freeze(at: Building): TreeNode {
  const children = [...at.children.values()]
    .sort((a, b) => collator.compare(a.name, b.name))
    .map((child) => {
      let merged = child;
      while (merged.unit === null && merged.children.size === 1) {
        const only = merged.children.values().next().value!;
        merged = { ...only, name: merged.name + KEY_SEPARATOR + only.name };
      }
      return freeze(merged);
    });
  return {
    name: at.name,
    path: at.path,
    counts: at.counts,
    total: at.total,
    unit: at.unit,
    children,
  };
}

export interface TreeOptions {
  /** Levels of groups to open; deeper groups show their counts only. */
  depth: number;
  /** Children shown per group before the rest is summed up in one line. */
  limit: number;
  /** Open every group and show every child. */
  all: boolean;
}

export const DEFAULT_TREE: TreeOptions = { depth: 2, limit: 20, all: false };

/** The tree as text lines, with box-drawing guides. */
export function renderTree(
  root: TreeNode,
  c: Colors,
  options: TreeOptions = DEFAULT_TREE,
): string[] {
  const lines: string[] = [];
  walk(root.children, '', 1, c, options, lines);
  return lines;
}

function walk(
  nodes: TreeNode[],
  indent: string,
  depth: number,
  c: Colors,
  options: TreeOptions,
  lines: string[],
): void {
  const shown = options.all ? nodes : nodes.slice(0, options.limit);
  const hidden = nodes.slice(shown.length);
  shown.forEach((child, index) => {
    const last = index === shown.length - 1 && hidden.length === 0;
    const open = child.children.length > 0 && (options.all || depth < options.depth);
    lines.push(`${indent}${c.dim(last ? '└── ' : '├── ')}${label(child, open, c)}`);
    if (open)
      walk(child.children, indent + c.dim(last ? '    ' : '│   '), depth + 1, c, options, lines);
  });
  if (hidden.length > 0) {
    const counts = emptyCounts();
    let total = 0;
    for (const node of hidden) {
      for (const status of Object.keys(counts) as Array<keyof StatusCounts>) {
        counts[status] += node.counts[status];
      }
      total += node.total;
    }
    lines.push(
      `${indent}${c.dim('└── ')}${c.dim(`… ${hidden.length} more`)} (${total} ${total === 1 ? 'unit' : 'units'}: ${countsText(counts, c)})`,
    );
  }
}

function label(node: TreeNode, open: boolean, c: Colors): string {
  const name = printable(node.name);
  if (node.children.length === 0 && node.unit) return `${name}  ${unitText(node.unit, c)}`;
  const units = `${node.total} ${node.total === 1 ? 'unit' : 'units'}`;
  const own = node.unit ? `; itself ${unitText(node.unit, c)}` : '';
  const more = open ? '' : c.dim(' …');
  return `${c.bold(name + KEY_SEPARATOR)}${more}  ${units}: ${countsText(node.counts, c)}${own}`;
}

/** `failed  12/100 items  cursor 3  attempts 2`. */
export function unitText(unit: Unit, c: Colors): string {
  const parts = [statusText(unit.status, c)];
  if (unit.done > 0 || unit.total !== null) {
    parts.push(`${unit.done}${unit.total !== null ? `/${unit.total}` : ''} items`);
  }
  if (unit.cursor !== null && unit.status !== 'complete')
    parts.push(`cursor ${cursorText(unit.cursor)}`);
  if (unit.attempts > 1) parts.push(`attempts ${unit.attempts}`);
  return parts.join('  ');
}

/** A cursor in one short line: JSON leaves C1 controls and bidi overrides alone, so escape them too. */
export function cursorText(cursor: unknown, max = 48): string {
  const text = printable(typeof cursor === 'string' ? cursor : JSON.stringify(cursor));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
