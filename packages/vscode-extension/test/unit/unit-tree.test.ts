import { describe, expect, it } from 'vitest';
import { failedUnitKeys, UnitTree } from '../../src/model/unit-tree.js';
import { bigCheckpoint, checkpointWith } from './checkpoints.js';

const sample = checkpointWith('github:acme', {
  'collect/acme/api/pulls': 'complete',
  'collect/acme/api/issues': 'failed',
  'collect/acme/web/pulls': 'pending',
  'collect/beta/api/pulls': 'in_progress',
  export: 'complete',
  'export/csv': 'pending',
  publish: 'failed',
});

describe('UnitTree', () => {
  it('groups units by the first segment of their key, in the order the job planned them', () => {
    const top = UnitTree.of(sample).children();
    expect(top.map((c) => [c.kind, c.label])).toEqual([
      ['group', 'collect'],
      ['group', 'export'],
      ['unit', 'publish'],
    ]);
  });

  it('counts the statuses of every unit below a group', () => {
    const collect = UnitTree.of(sample).children()[0]!;
    expect(collect).toMatchObject({
      kind: 'group',
      path: 'collect/',
      total: 4,
      counts: { complete: 1, failed: 1, pending: 1, in_progress: 1 },
    });
  });

  it('descends by path, down to the units', () => {
    const tree = UnitTree.of(sample);
    expect(tree.children('collect/').map((c) => c.label)).toEqual(['acme', 'beta']);
    expect(tree.children('collect/acme/').map((c) => c.label)).toEqual(['api', 'web']);
    const leaves = tree.children('collect/acme/api/');
    expect(leaves).toMatchObject([
      { kind: 'unit', key: 'collect/acme/api/pulls', label: 'pulls', unit: { status: 'complete' } },
      { kind: 'unit', key: 'collect/acme/api/issues', label: 'issues', unit: { status: 'failed' } },
    ]);
  });

  it('keeps a key that is both a unit and the parent of others as a group that carries the unit', () => {
    const exportGroup = UnitTree.of(sample).children()[1]!;
    expect(exportGroup).toMatchObject({
      kind: 'group',
      unitKey: 'export',
      total: 2,
      counts: { complete: 1, pending: 1 },
    });
    expect(
      UnitTree.of(sample)
        .children('export/')
        .map((c) => c.label),
    ).toEqual(['csv']);
  });

  it('answers a path asked for directly, without its parent level', () => {
    expect(
      UnitTree.of(sample)
        .children('collect/beta/api/')
        .map((c) => c.label),
    ).toEqual(['pulls']);
  });

  it('keeps segments that only share a prefix apart (a/x, a/x-1, a/x/1)', () => {
    const tree = UnitTree.of(
      checkpointWith('p', { 'a/x': 'complete', 'a/x-1': 'complete', 'a/x/1': 'failed' }),
    );
    const level = tree.children('a/');
    expect(level.map((c) => [c.kind, c.label])).toEqual([
      ['group', 'x'],
      ['unit', 'x-1'],
    ]);
    expect(level[0]).toMatchObject({
      unitKey: 'a/x',
      total: 2,
      counts: { failed: 1, complete: 1 },
    });
  });

  it('pages a large level', () => {
    const tree = UnitTree.of(bigCheckpoint(1234));
    const first = tree.page('', 0, 500);
    expect(first.items).toHaveLength(500);
    expect(first.items[0]).toMatchObject({ kind: 'unit', key: 'unit-000000' });
    expect(first).toMatchObject({ remaining: 734, total: 1234 });
    const last = tree.page('', 1000, 500);
    expect(last.items).toHaveLength(234);
    expect(last.items.at(-1)).toMatchObject({ key: 'unit-001233' });
    expect(last.remaining).toBe(0);
  });

  it('computes each level once', () => {
    const tree = UnitTree.of(sample);
    expect(tree.children('collect/')).toBe(tree.children('collect/'));
  });

  it('lists failed units in checkpoint order', () => {
    expect(failedUnitKeys(sample)).toEqual(['collect/acme/api/issues', 'publish']);
  });

  it('has no children for a checkpoint without units', () => {
    expect(UnitTree.of(checkpointWith('empty', {})).children()).toEqual([]);
  });
});
