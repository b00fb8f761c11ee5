/**
 * Unit keys are paths (`phase/item/sub`); this groups a checkpoint's units into a tree by those
 * paths, lazily: a level is computed the first time it is asked for, in one pass over the units
 * below it, and kept. A checkpoint of 100,000 units shows its first level without touching the
 * levels below. Pure: no VS Code import.
 */
import {
  type Checkpoint,
  emptyCounts,
  KEY_SEPARATOR,
  type StatusCounts,
  type Unit,
} from '@checkpointkit/core';

/** A path that has units below it. It may be a unit itself too (`a` when `a` and `a/b` exist). */
export interface UnitGroup {
  kind: 'group';
  /**
   * The key prefix of the units below, separator included: `collect/acme/`. Ending in the
   * separator keeps every group apart from the root (`''`) and from each other, also for keys
   * with empty segments: `/x` is below the group `/`, not below a group `''` that would be the
   * root again (and contain itself, forever).
   */
  path: string;
  /** The last segment of the path. */
  label: string;
  /** The unit at exactly this path, if there is one. */
  unitKey: string | null;
  /** Units at or below this path, per status. */
  counts: StatusCounts;
  /** Number of units at or below this path. */
  total: number;
}

/** A unit with nothing below it. */
export interface UnitLeaf {
  kind: 'unit';
  key: string;
  label: string;
  unit: Unit;
}

export type UnitTreeChild = UnitGroup | UnitLeaf;

/** One page of a level: the children shown, and how many more there are. */
export interface UnitPage {
  items: UnitTreeChild[];
  /** Children not in this page (after it). */
  remaining: number;
  total: number;
}

interface Bucket {
  label: string;
  unitKey: string | null;
  keys: string[];
}

/** How a group's path shows: `collect/acme`, `(empty)` for the empty first segment of `/x`. */
export function displayPath(path: string): string {
  return path.slice(0, -KEY_SEPARATOR.length) || '(empty)';
}

/** The root path: the checkpoint itself. */
export const ROOT_PATH = '';

export class UnitTree {
  readonly #units: Record<string, Unit>;
  /** Keys strictly below a group path, kept for groups whose level is not computed yet. */
  readonly #below = new Map<string, string[]>();
  readonly #levels = new Map<string, UnitTreeChild[]>();

  constructor(units: Record<string, Unit>) {
    this.#units = units;
  }

  static of(checkpoint: Checkpoint): UnitTree {
    return new UnitTree(checkpoint.units);
  }

  /** The unit with this key, if any. */
  unit(key: string): Unit | undefined {
    return Object.hasOwn(this.#units, key) ? this.#units[key] : undefined;
  }

  /**
   * The children of a path, in the order their first unit appears in the checkpoint (the order
   * the job planned them). Computed once per path.
   */
  children(path: string = ROOT_PATH): UnitTreeChild[] {
    let level = this.#levels.get(path);
    if (!level) {
      level = this.#compute(path);
      this.#levels.set(path, level);
      this.#below.delete(path);
    }
    return level;
  }

  /** `size` children of a path starting at `offset`. */
  page(path: string, offset: number, size: number): UnitPage {
    const all = this.children(path);
    const items = all.slice(offset, offset + size);
    return { items, remaining: Math.max(0, all.length - offset - items.length), total: all.length };
  }

  #keysBelow(path: string): string[] {
    if (path === ROOT_PATH) return Object.keys(this.#units);
    const known = this.#below.get(path);
    if (known) return known;
    // A path asked for directly (not through its parent): filter all keys once.
    return Object.keys(this.#units).filter((key) => key.startsWith(path));
  }

  #compute(path: string): UnitTreeChild[] {
    const prefixLength = path.length;
    const buckets = new Map<string, Bucket>();
    for (const key of this.#keysBelow(path)) {
      const end = key.indexOf(KEY_SEPARATOR, prefixLength);
      const segment = end < 0 ? key.slice(prefixLength) : key.slice(prefixLength, end);
      let bucket = buckets.get(segment);
      if (!bucket) {
        bucket = { label: segment, unitKey: null, keys: [] };
        buckets.set(segment, bucket);
      }
      if (end < 0) bucket.unitKey = key;
      else bucket.keys.push(key);
    }
    const children: UnitTreeChild[] = [];
    for (const bucket of buckets.values()) {
      if (bucket.keys.length === 0 && bucket.unitKey !== null) {
        children.push({
          kind: 'unit',
          key: bucket.unitKey,
          label: bucket.label,
          unit: this.#units[bucket.unitKey]!,
        });
        continue;
      }
      const groupPath = path + bucket.label + KEY_SEPARATOR;
      const counts = emptyCounts();
      for (const key of bucket.keys) counts[this.#units[key]!.status] += 1;
      if (bucket.unitKey !== null) counts[this.#units[bucket.unitKey]!.status] += 1;
      this.#below.set(groupPath, bucket.keys);
      children.push({
        kind: 'group',
        path: groupPath,
        label: bucket.label,
        unitKey: bucket.unitKey,
        counts,
        total: bucket.keys.length + (bucket.unitKey === null ? 0 : 1),
      });
    }
    return children;
  }
}

/** Keys of the failed units, in checkpoint order. */
export function failedUnitKeys(checkpoint: Checkpoint): string[] {
  const keys: string[] = [];
  for (const key in checkpoint.units)
    if (checkpoint.units[key]!.status === 'failed') keys.push(key);
  return keys;
}
