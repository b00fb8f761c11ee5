/**
 * A checkpoint is stored as JSON, so a cursor, a meta value or a mapped id that JSON cannot hold
 * would not come back on resume: NaN and Infinity become null (a unit read again from its first
 * page), a Date a string, a Map `{}`, and a BigInt or a cycle makes the store's append throw,
 * which loses every change buffered with it. Sources are user code: what they hand over is
 * checked where it enters, with an error that names the unit, the field and the cause.
 */
import { describe, expect, it } from 'vitest';
import {
  CheckpointValueError,
  memoryStore,
  openRun,
  parseCheckpointJson,
  pipeline,
  type Source,
} from '../../src/index.js';
import { jsonProblem, MAX_VALUE_NESTING } from '../../src/model/json-value.js';

const circular = (() => {
  const value: Record<string, unknown> = { page: 1 };
  value['self'] = value;
  return value;
})();

/** Values that would not come back from JSON as they went in, and what the check says of each. */
const BAD: [string, unknown, RegExp][] = [
  ['NaN', Number.NaN, /^cursor is NaN/],
  ['Infinity', Number.POSITIVE_INFINITY, /^cursor is Infinity/],
  [
    'a nested -Infinity',
    { next: { offset: Number.NEGATIVE_INFINITY } },
    /^cursor\.next\.offset is -Infinity/,
  ],
  ['undefined', undefined, /^cursor is undefined/],
  ['a bigint', 10n, /^cursor is a bigint/],
  ['a Date', new Date(0), /^cursor is a Date/],
  ['a Map in an array', [1, new Map()], /^cursor\[1\] is a Map/],
  ['a class instance', new (class Page {})(), /^cursor is a Page/],
  ['a function', () => 1, /^cursor is a function/],
  ['a symbol', Symbol('s'), /^cursor is a symbol/],
  // A sparse array, made without the literal (which the linter rightly refuses).
  ['a hole in an array', Object.assign(new Array(3), { 0: 1, 2: 3 }), /^cursor\[1\] is a hole/],
  ['undefined in an array', [1, undefined], /^cursor\[1\] is undefined/],
  ['a cycle', circular, /^cursor\.self is cursor itself/],
  ['an odd key', { 'a b': Number.NaN }, /^cursor\["a b"\] is NaN/],
];

/** Values JSON holds as they are (an undefined property is left out, which reads the same). */
const GOOD: [string, unknown][] = [
  ['null', null],
  ['a number', 3],
  ['-0', -0],
  ['a string', 'Link: <…>'],
  ['nested', { next: 'x', seen: [1, 'a', null, true], nothing: undefined }],
  [
    'a shared object twice',
    (() => {
      const shared = { a: 1 };
      return [shared, shared];
    })(),
  ],
  ['an object without prototype', Object.assign(Object.create(null), { a: 1 })],
  ['a key named __proto__', JSON.parse('{"__proto__": 1}')],
];

describe('jsonProblem', () => {
  for (const [name, value, said] of BAD)
    it(`refuses ${name}`, () => expect(jsonProblem(value, 'cursor')?.message).toMatch(said));
  for (const [name, value] of GOOD)
    it(`accepts ${name}`, () => expect(jsonProblem(value, 'cursor')).toBeUndefined());
});

/** `{ next: { next: ... } }`, `levels` objects deep. */
const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { next: value };
  return value;
};

describe('values nested deeper than checkpoint readers read', () => {
  it(`refuses a value nested more than ${MAX_VALUE_NESTING} levels, and accepts one of that many`, () => {
    expect(jsonProblem(nested(MAX_VALUE_NESTING), 'cursor')).toBeUndefined();
    const problem = jsonProblem(nested(MAX_VALUE_NESTING + 1), 'cursor');
    expect(problem?.field).toMatch(/^cursor\.next\.next/);
    expect(problem?.message).toMatch(`nested more than ${MAX_VALUE_NESTING} levels deep`);
    // Thousands of levels get the same error, not the stack's RangeError.
    expect(jsonProblem(nested(20_000), 'cursor')?.message).toMatch('nested more than');
  });

  it('a checkpoint holding the deepest cursor a run records reads back from its JSON', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await run.plan(['u']);
    await run.progress('u', { cursor: nested(MAX_VALUE_NESTING) as never, items: 1 });
    const text = JSON.stringify(run.checkpoint);
    expect(parseCheckpointJson(text).checkpoint.units['u']?.cursor).toEqual(
      nested(MAX_VALUE_NESTING),
    );
    await expect(
      run.progress('u', { cursor: nested(MAX_VALUE_NESTING + 1) as never, items: 1 }),
    ).rejects.toBeInstanceOf(CheckpointValueError);
    await run.close();
  });
});

describe('values that enter a run', () => {
  it('run.progress refuses a cursor JSON cannot hold, naming the unit and the field, and records nothing', async () => {
    const store = memoryStore();
    const run = await openRun({ id: 'job', store, signals: false });
    await run.plan(['u']);
    await run.progress('u', { cursor: 1, items: 1 });
    const error = await run
      .progress('u', { cursor: { page: Number.NaN }, items: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointValueError);
    expect(error).toMatchObject({ field: 'units["u"].cursor.page' });
    expect(String(error)).toMatch(/units\["u"\]\.cursor\.page is NaN/);
    expect(run.unit('u')).toMatchObject({ cursor: 1, done: 1 });
    await run.flush();
    expect((await store.load('job'))?.units['u']?.cursor).toBe(1);
    await run.close();
  });

  it('setMeta, complete and mapId refuse what JSON cannot hold', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await run.plan(['u']);
    await expect(run.setMeta('since', new Date(0) as never)).rejects.toThrow(
      /meta\["since"\] is a Date/,
    );
    await expect(run.complete('u', { cursor: 5n as never })).rejects.toThrow(
      /units\["u"\]\.cursor is a bigint/,
    );
    await expect(run.mapId('users', 'alice', Number.NaN)).rejects.toThrow(
      /idMaps\["users"\]\["alice"\] is NaN/,
    );
    expect(run.checkpoint.meta.user).toEqual({});
    expect(run.unit('u')?.status).toBe('pending');
    await run.close();
  });

  it('pipeline() fails the unit whose source yields such a cursor, before the page reaches the sink; the other units go on and are saved', async () => {
    const store = memoryStore();
    const run = await openRun({ id: 'job', store, signals: false });
    const source: Source<string> = {
      units: () => [{ key: 'bad' }, { key: 'good' }],
      async *read({ key }) {
        yield { items: [`${key}1`], cursor: 1 };
        yield { items: [`${key}2`], cursor: key === 'bad' ? (Number.NaN as never) : 2 };
        yield { items: [`${key}3`], cursor: 3 };
      },
    };
    const written: string[] = [];
    const result = await pipeline({
      run,
      source,
      sink: { write: (items) => void written.push(...items) },
    });
    expect(written).toEqual(['bad1', 'good1', 'good2', 'good3']);
    expect(result).toMatchObject({ completed: 1, failed: 1 });
    const stored = await store.load('job');
    expect(stored?.units['bad']).toMatchObject({ status: 'failed', cursor: 1, done: 1 });
    expect(stored?.units['bad']?.error).toMatchObject({ retryable: false });
    expect(stored?.units['bad']?.error?.message).toMatch(/units\["bad"\]\.cursor is NaN.*JSON/);
    expect(stored?.units['good']).toMatchObject({ status: 'complete', cursor: 3 });
    await run.close();
  });
});
