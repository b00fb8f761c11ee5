import { emptyUnit, type Unit } from '@checkpointkit/core';
import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import { buildTree, renderTree } from '../../src/format/tree.js';

const plain = pc.createColors(false);

function unit(status: Unit['status'], extra: Partial<Unit> = {}): Unit {
  return { ...emptyUnit(), status, ...extra };
}

describe('buildTree', () => {
  it('groups units by key segments with counts per status at every level', () => {
    const root = buildTree({
      'collect/acme/api/pulls': unit('complete'),
      'collect/acme/api/issues': unit('failed'),
      'collect/acme/web/pulls': unit('pending'),
      'report/summary': unit('in_progress'),
    });
    expect(root.total).toBe(4);
    const [collect, report] = root.children;
    // collect has one child (acme): the chain is merged into one node.
    expect(collect!.name).toBe('collect/acme');
    expect(collect!.path).toBe('collect/acme');
    expect(collect!.counts).toEqual({ pending: 1, in_progress: 0, complete: 1, failed: 1 });
    expect(collect!.children.map((child) => child.name)).toEqual(['api', 'web/pulls']);
    expect(collect!.children[0]!.path).toBe('collect/acme/api');
    expect(collect!.children[0]!.children.map((child) => child.path)).toEqual([
      'collect/acme/api/issues',
      'collect/acme/api/pulls',
    ]);
    // report has a single unit below it: the group and the unit become one line.
    expect(report!.name).toBe('report/summary');
    expect(report!.unit?.status).toBe('in_progress');
  });

  it('orders numbered keys numerically and keeps a unit that is also a prefix', () => {
    const root = buildTree({
      'page/10': unit('complete'),
      'page/9': unit('complete'),
      'page/100': unit('pending'),
      page: unit('failed', {
        error: { message: 'x', retryable: true, at: '2025-01-01T00:00:00Z' },
      }),
    });
    const page = root.children[0]!;
    expect(page.unit?.status).toBe('failed');
    expect(page.children.map((child) => child.name)).toEqual(['9', '10', '100']);
    expect(page.total).toBe(4);
  });
});

describe('renderTree', () => {
  const units: Record<string, Unit> = {};
  for (let page = 1; page <= 30; page++) {
    units[`migrate/room-a/page/${page}`] = unit(page <= 25 ? 'complete' : 'pending');
  }
  units['migrate/room-b/page/1'] = unit('failed', {
    error: { message: 'HTTP 500', retryable: true, at: '2025-01-01T00:00:00Z' },
    attempts: 2,
    cursor: 'tok_123',
  });

  it('opens groups to the depth asked and shows deeper ones as counts', () => {
    const lines = renderTree(buildTree(units), plain, { depth: 1, limit: 20, all: false });
    expect(lines).toEqual(['└── migrate/ …  31 units: 25 complete, 5 pending, 1 failed']);
  });

  it('caps the children of a group and sums up the rest', () => {
    const lines = renderTree(buildTree(units), plain, { depth: 5, limit: 3, all: false });
    expect(lines).toEqual([
      '└── migrate/  31 units: 25 complete, 5 pending, 1 failed',
      '    ├── room-a/page/  30 units: 25 complete, 5 pending',
      '    │   ├── 1  complete',
      '    │   ├── 2  complete',
      '    │   ├── 3  complete',
      '    │   └── … 27 more (27 units: 22 complete, 5 pending)',
      '    └── room-b/page/1  failed  cursor tok_123  attempts 2',
    ]);
  });

  it('shows every unit with all', () => {
    const lines = renderTree(buildTree(units), plain, { depth: 1, limit: 3, all: true });
    expect(lines.filter((line) => /\d+ {2}(complete|pending|failed)/.test(line))).toHaveLength(31);
    expect(lines.some((line) => line.includes('more'))).toBe(false);
  });
});
