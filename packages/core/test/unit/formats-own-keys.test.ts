/**
 * `__proto__` is an ordinary key in JSON: a page id, an event id, a repository or a unit key may
 * be called so. zod's `z.record` and `z.json` leave such a key out of what they return, so a
 * reader built on them dropped that page, mapping or unit without a word (a seed 000 file with
 * four pages read as three). Every reader must keep it.
 */
import { describe, expect, it } from 'vitest';
import { type Checkpoint, parseCheckpointJson } from '../../src/index.js';
import { fixtureJson } from '../fixtures/formats/load.js';

type Doc = Record<string, unknown>;

/** Sets `key` as an own property, as JSON.parse does (an assignment of `__proto__` would not). */
function withKey(record: unknown, key: string, value: unknown): void {
  Object.defineProperty(record, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function read(doc: Doc, name: string): Checkpoint {
  const text = JSON.stringify(doc);
  expect(text).toContain('"__proto__"');
  return parseCheckpointJson(text, { file: name }).checkpoint;
}

/** The own value at a path of keys, or a marker when one of them is not an own key. */
function at(root: unknown, ...path: string[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
      return `<no own ${path.join(' → ')}>`;
    }
    value = (value as Doc)[key];
  }
  return value;
}

describe('a key named __proto__ is kept by every reader', () => {
  it('canonical: a unit, its cursor, an id map and its ids, a stat and user meta', () => {
    const doc = fixtureJson('canonical/retried.checkpoint.json') as Doc;
    const units = doc['units'] as Record<string, Doc>;
    const [firstUnit] = Object.values(units);
    const cursor = {};
    withKey(cursor, '__proto__', 7);
    withKey(units, '__proto__', { ...firstUnit, cursor });
    const ids = {};
    withKey(ids, '__proto__', 'comment-1');
    withKey(doc['idMaps'], '__proto__', ids);
    withKey(doc['stats'], '__proto__', 3);
    const user = {};
    withKey(user, '__proto__', { nested: true });
    withKey((doc['meta'] as Doc)['user'], '__proto__', user);

    const checkpoint = read(doc, 'retried.checkpoint.json');
    expect(at(checkpoint.units, '__proto__', 'cursor', '__proto__')).toBe(7);
    expect(at(checkpoint.idMaps, '__proto__', '__proto__')).toBe('comment-1');
    expect(at(checkpoint.stats, '__proto__')).toBe(3);
    expect(at(checkpoint.meta.user, '__proto__', '__proto__')).toEqual({ nested: true });
    expect(Object.keys(checkpoint.units)).toEqual(Object.keys(units));
    expect(Object.getPrototypeOf(checkpoint.units)).toBe(Object.prototype);
  });

  it('seed 000: a page and an event id', () => {
    const doc = fixtureJson('seed-000/all-pages-done.json') as Doc;
    const page = {
      page_id: '__proto__',
      section_id: 'odd',
      comment_count: 5,
      completed_at: '2024-03-11T09:05:00+01:00',
      error: null,
    };
    withKey(doc['completed_pages'], '__proto__', page);
    withKey(doc['id_mapping'], '__proto__', 11);
    (doc['statistics'] as Doc)['total_pages'] = 3;

    const checkpoint = read(doc, 'migration_checkpoint.json');
    expect(at(checkpoint.units, 'pages/__proto__', 'done')).toBe(5);
    expect(at(checkpoint.units, 'pages/__proto__', 'status')).toBe('complete');
    expect(checkpoint.status).toBe('completed');
    expect(at(checkpoint.idMaps, 'matrix-event', '__proto__')).toBe(11);
    expect(at(checkpoint.meta.user, 'sections', '__proto__')).toBe('odd');
  });

  it('seed 002: a member of the free state', () => {
    const doc = fixtureJson('seed-002/minimal-v2.json') as Doc;
    withKey(doc['state'], '__proto__', { cursor: 'abc' });
    const checkpoint = read(doc, '.checkpoint_my_operation.json');
    expect(at(checkpoint.meta.user, 'state', '__proto__')).toEqual({ cursor: 'abc' });
  });

  it('seed 003: a phase, a repository and an endpoint', () => {
    const doc = fixtureJson('seed-003/target=sample-org/checkpoint.json') as Doc;
    withKey(doc['phases'], '__proto__', 'complete');
    const repos = doc['repos'] as Record<string, Doc>;
    const api = repos['sample-org/api']!;
    const endpoint = {
      status: 'complete',
      pages_collected: 1,
      records_collected: 9,
      last_page_written: 1,
    };
    withKey(api['endpoints'], '__proto__', endpoint);
    withKey(repos, '__proto__', { ...api, endpoints: {} });

    const checkpoint = read(doc, 'checkpoint.json');
    expect(at(checkpoint.units, 'phases/__proto__', 'status')).toBe('complete');
    expect(at(checkpoint.units, 'repos/__proto__', 'status')).toBe('complete');
    expect(at(checkpoint.units, 'repos/sample-org/api/__proto__', 'done')).toBe(9);
  });
});
