/**
 * Unit keys a stranger chose, against the unit tree: empty segments (`/x`, `a//b`, `a/`),
 * a key that is a prefix of another, names of Object.prototype members, 10,000 siblings and a
 * key of 1,000 segments. Every unit must be reachable exactly once, and no group may contain
 * itself (the view would nest it forever).
 */
import { describe, expect, it } from 'vitest';
import { ROOT_PATH, UnitTree, type UnitTreeChild } from '../../src/model/unit-tree.js';
import { checkpointWith } from './checkpoints.js';

/**
 * Walks the whole tree as the view expands it, level by level, and returns the unit keys it
 * meets. Stops (and fails) after `limit` levels, so a tree that nests itself ends the test
 * instead of hanging it.
 */
function walk(tree: UnitTree, limit: number): { keys: string[]; levels: string[] } {
  const keys: string[] = [];
  const levels: string[] = [];
  const queue = [ROOT_PATH];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    levels.push(path);
    if (levels.length > limit) throw new Error(`more than ${limit} levels: the tree nests itself`);
    for (const child of tree.children(path) as UnitTreeChild[]) {
      if (child.kind === 'unit') keys.push(child.key);
      else {
        if (child.unitKey !== null) keys.push(child.unitKey);
        queue.push(child.path);
      }
    }
  }
  return { keys, levels };
}

describe('UnitTree with hostile keys', () => {
  it('reaches every unit of keys with empty segments, once, in a finite tree', () => {
    const units = ['/x', '/y/z', '//', 'a', 'a/', 'a//b', 'b/c/', 'c'];
    const tree = UnitTree.of(
      checkpointWith('p', Object.fromEntries(units.map((k) => [k, 'complete']))),
    );
    const { keys, levels } = walk(tree, 100);
    expect(keys.sort()).toEqual([...units].sort());
    // Each level is asked for once: no two groups share a path, and none is the root.
    expect(new Set(levels).size).toBe(levels.length);
    const top = tree.children();
    expect(top.map((c) => [c.kind, c.label])).toEqual([
      ['group', ''],
      ['group', 'a'],
      ['group', 'b'],
      ['unit', 'c'],
    ]);
    expect(top[0]).toMatchObject({ kind: 'group', total: 3 });
  });

  it('keeps keys named like Object.prototype members', () => {
    const units = [
      '__proto__',
      'constructor',
      'constructor/x',
      'toString/__proto__',
      'hasOwnProperty',
    ];
    const tree = UnitTree.of(
      checkpointWith('p', Object.fromEntries(units.map((k) => [k, 'failed']))),
    );
    expect(walk(tree, 100).keys.sort()).toEqual([...units].sort());
    expect(tree.unit('__proto__')?.status).toBe('failed');
    expect(tree.unit('valueOf')).toBeUndefined();
  });

  it('pages 10,000 siblings and walks a key of 1,000 segments level by level', () => {
    const deep = Array.from({ length: 1000 }, (_, i) => `s${i}`).join('/');
    const units: Record<string, 'complete'> = { [deep]: 'complete' };
    for (let i = 0; i < 10_000; i++) units[`flat/u${i}`] = 'complete';
    const tree = UnitTree.of(checkpointWith('p', units));
    const { keys, levels } = walk(tree, 1100);
    expect(keys).toHaveLength(10_001);
    expect(levels).toHaveLength(1 + 1 + 999);
    const flat = tree.children().find((c) => c.label === 'flat')!;
    expect(flat.kind).toBe('group');
    const page = tree.page(flat.kind === 'group' ? flat.path : '', 9_500, 500);
    expect(page).toMatchObject({ remaining: 0, total: 10_000 });
    expect(page.items.at(-1)).toMatchObject({ key: 'flat/u9999' });
  });
});
