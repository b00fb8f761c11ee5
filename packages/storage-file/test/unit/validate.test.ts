/**
 * The shortcut of the append check (src/store/validate.ts) accepts only what core's schema
 * accepts, and returns what the schema returns: the same bytes reach the journal either way.
 */
import { type Change, ChangeSchema, CheckpointError } from '@checkpointkit/core';
import { describe, expect, it, vi } from 'vitest';
import { validateChanges } from '../../src/store/validate.js';

const at = '2026-12-07T03:04:05.678Z';

/** Cursors, times, counts and shapes around what the shortcut takes, and past its edges. */
function candidates(): unknown[] {
  const deep: Record<string, unknown> = {};
  let level = deep;
  for (let i = 0; i < 40; i++) level = level['n'] = {} as Record<string, unknown>;
  const cycle: Record<string, unknown> = { a: 1 };
  cycle['self'] = cycle;
  const hole: unknown[] = [1];
  hole[2] = 3;
  const cursors: unknown[] = [
    { page: 1 },
    'https://api.example/next?page=2',
    7,
    0,
    -1.5,
    true,
    null,
    [1, 'a', [null, { b: [] }]],
    {},
    Object.create(null),
    { a: undefined },
    [undefined],
    hole,
    deep,
    cycle,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    { when: new Date(0) },
    new Map(),
    10n,
    undefined,
    () => 1,
    { toJSON: () => 1 },
  ];
  const times: unknown[] = [
    at,
    '0000-02-29T00:00:00.000Z',
    '2025-02-29T00:00:00.000Z',
    '2026-13-01T00:00:00.000Z',
    '2026-12-07T23:59:60.000Z',
    '2026-12-07T03:04:05Z',
    '2026-12-07T03:04:05.678+02:00',
    '2026-12-07 03:04:05.678Z',
    '+002026-12-07T03:04:05.678Z',
    '',
    1,
    undefined,
  ];
  const counts: unknown[] = [0, -0, 3, 2.5, -1, Number.NaN, Number.POSITIVE_INFINITY, '3', null];
  const out: unknown[] = [];
  for (const cursor of cursors)
    out.push({ type: 'unit.progressed', at, key: 'a/1', cursor, done: 1 });
  for (const time of times) {
    out.push({ type: 'unit.progressed', at: time, key: 'a/1', cursor: 1, done: 1 });
    out.push({ type: 'saved', at: time, reason: 'page' });
  }
  for (const count of counts) {
    out.push({ type: 'unit.progressed', at, key: 'a/1', cursor: 1, done: count });
    out.push({ type: 'unit.progressed', at, key: 'a/1', cursor: 1, done: 1, total: count });
  }
  out.push(
    { type: 'unit.progressed', at, key: 'a/1', cursor: 1, done: 1, total: undefined },
    { type: 'unit.progressed', at, key: '', cursor: 1, done: 1 },
    { type: 'unit.progressed', at, key: 5, cursor: 1, done: 1 },
    { type: 'unit.progressed', at, key: 'a/1', cursor: 1 },
    { type: 'unit.progressed', at, key: 'a/1', cursor: 1, done: 1, extra: 'left out' },
    { at, type: 'unit.progressed', key: 'a/1', cursor: 1, done: 1 },
    { type: 'unit.progressed', at, key: 'a/1', done: 1, cursor: 1 },
    { type: 'saved', at, reason: 3 },
    { type: 'saved', at, reason: 'page', extra: 1 },
    { type: 'saved', reason: 'page', at },
    { type: 'saved', at },
    Object.assign(Object.create({ reason: 'inherited' }), { type: 'saved', at, x: 1 }),
    { type: 'unit.started', at, key: 'a/1' },
    { type: 'unit.completed', at, key: 'a/1', cursor: { page: 2 }, done: 4 },
    null,
    'saved',
  );
  return out;
}

describe('validateChanges', () => {
  it('accepts what the schema accepts and returns its output; refuses the rest naming the change', () => {
    let accepted = 0;
    for (const change of candidates()) {
      const parsed = ChangeSchema.safeParse(change);
      if (parsed.success) {
        const [valid] = validateChanges('job', [change as Change]);
        expect(JSON.stringify(valid)).toBe(JSON.stringify(parsed.data));
        expect(Object.keys(valid!)).toEqual(Object.keys(parsed.data));
        accepted += 1;
      } else {
        expect(() => validateChanges('job', [change as Change])).toThrow(CheckpointError);
        expect(() => validateChanges('job', [change as Change])).toThrow(
          /change 0 .* is not valid/,
        );
      }
    }
    expect(accepted).toBeGreaterThan(20);
  });

  it('returns copies: a change the caller alters after append is not what gets written', () => {
    const change: Change = { type: 'unit.progressed', at, key: 'a/1', cursor: 1, done: 1 };
    const [valid] = validateChanges('job', [change]);
    change.done = 99;
    expect(valid).toEqual({ type: 'unit.progressed', at, key: 'a/1', cursor: 1, done: 1 });
  });

  it("checks a run's pages and saves without the schema (the flush's shortcut)", () => {
    const parse = vi.spyOn(ChangeSchema, 'safeParse');
    try {
      const page: Change = {
        type: 'unit.progressed',
        at,
        key: 'a/1',
        cursor: { page: 2 },
        done: 3,
      };
      const saved: Change = { type: 'saved', at, reason: 'always' };
      validateChanges('job', [page, { ...page, total: 10 }, saved]);
      expect(parse).not.toHaveBeenCalled();
      validateChanges('job', [{ type: 'unit.started', at, key: 'a/1' }]);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });
});
