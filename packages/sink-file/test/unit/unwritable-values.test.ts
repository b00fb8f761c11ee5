/**
 * Values inside items that a line format cannot hold. JSON.stringify threw a raw TypeError for
 * some (a bigint, a cycle) and silently changed others: a function or symbol property was left
 * out, one in an array and NaN or Infinity became null, a Map became `{}`; a CSV cell holding a
 * function got its source text. Each is now refused with a SinkFileItemError that names the
 * unit, the file, the field (`items[3].user.id`) and the cause, and nothing of the page is
 * written; what JSON writes faithfully (a Date, a working toJSON, an undefined property left
 * out) is written as before.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryStore, openRun, type Sink } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { csvCell, csvSink, jsonLinesSink, SinkFileItemError } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

const UNIT = 'acme-7';

type Item = Record<string, unknown>;

/**
 * Writes a good page, then `bad` (which must be refused), then another good page, through a sink
 * of its own; returns the error and checks that the refused page left the file's bytes as they
 * were and that the sink went on after it.
 */
async function refusedPage(
  make: (path: string) => Sink<Item>,
  extension: string,
  bad: Item[],
): Promise<{ error: SinkFileItemError; path: string }> {
  const path = join(await tempDir(), `out.${extension}`);
  const sink = make(path);
  const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
  const context = { unit: UNIT, run, signal: run.signal };
  try {
    await sink.open?.({ run, signal: run.signal });
    await sink.write([{ n: 0, user: { name: 'first' } }], context);
    const before = await readFile(path);
    const error = await Promise.resolve(sink.write(bad, context)).catch((e: unknown) => e);
    // Not one byte of the refused page: the file is as the page before left it.
    expect((await readFile(path)).equals(before)).toBe(true);
    await sink.write([{ n: 9, user: { name: 'last' } }], context);
    const after = await readFile(path);
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    expect(after.toString('utf8', before.length)).toMatch(/^[^\n]*9[^\n]*last[^\n]*\n$/);
    expect(error).toBeInstanceOf(SinkFileItemError);
    return { error: error as SinkFileItemError, path };
  } finally {
    await sink.close?.();
    await run.close();
  }
}

/** Items 0-2 are fine; item 3's `user` is `user`. */
const pageWith = (user: unknown): Item[] => [
  { n: 1, user: { name: 'a' } },
  { n: 2, user: { name: 'b' } },
  { n: 3, user: { name: 'c' } },
  { n: 4, user },
];

/** Checks what every refusal must say: file, unit, item, field, cause; not retryable. */
function expectNamed(
  error: SinkFileItemError,
  path: string,
  field: string,
  cause: RegExp,
  item = 3,
): void {
  expect(error).toMatchObject({ file: path, unit: UNIT, item, field, retryable: false });
  expect(error.message).toContain(path);
  expect(error.message).toContain(`of a page of ${UNIT}`);
  expect(error.message).toContain(`${field} `);
  expect(error.message).toMatch(cause);
}

const fn = function secretSource() {
  return 'this source text must not end up in the file';
};
const money = { cents: 500, toJSON: () => '5.00 EUR' };
const cyclic = (): Item => {
  const user: Item = { name: 'loop' };
  user.self = user;
  return user;
};
const throwingToJson = {
  toJSON() {
    throw new Error('no JSON today');
  },
};

/** [what, item 3's user, the field named, the cause] for both formats. */
const nestedCases: [string, unknown, string, RegExp][] = [
  ['a bigint', { name: 'c', id: 12n }, 'items[3].user.id', /bigint \(12n\)/],
  ['a cycle', cyclic(), 'items[3].user.self', /is items\[3\]\.user itself \(a cycle\)/],
  ['a function property', { name: 'c', id: fn }, 'items[3].user.id', /is a function/],
  ['a symbol property', { name: 'c', id: Symbol('s') }, 'items[3].user.id', /is a symbol/],
  ['a function in an array', { tags: ['a', fn] }, 'items[3].user.tags[1]', /is a function/],
  ['a symbol in an array', { tags: [Symbol('s')] }, 'items[3].user.tags[0]', /is a symbol/],
  ['NaN', { name: 'c', score: Number.NaN }, 'items[3].user.score', /is NaN.*null/],
  ['Infinity', { score: Number.POSITIVE_INFINITY }, 'items[3].user.score', /is Infinity/],
  ['-Infinity', { score: [Number.NEGATIVE_INFINITY] }, 'items[3].user.score[0]', /-Infinity/],
  ['a throwing toJSON', { name: 'c', id: throwingToJson }, 'items[3].user.id', /no JSON today/],
  [
    'a toJSON that returns NaN',
    { id: { toJSON: () => ({ x: Number.NaN }) } },
    'items[3].user.id.toJSON().x',
    /is NaN/,
  ],
  ['a Map', { name: 'c', roles: new Map([['a', 1]]) }, 'items[3].user.roles', /is a Map/],
  ['a Set', { name: 'c', roles: new Set(['a']) }, 'items[3].user.roles', /is a Set/],
  ['an invalid Date', { name: 'c', born: new Date(Number.NaN) }, 'items[3].user.born', /invalid/],
  ['an odd key', { 'a b': { c: 1n } }, 'items[3].user["a b"].c', /bigint/],
];

describe('JSON Lines: values JSON cannot hold', () => {
  for (const [what, user, field, cause] of nestedCases) {
    it(`refuses ${what} with the field named, writing nothing of the page`, async () => {
      const { error, path } = await refusedPage((path) => jsonLinesSink({ path }), 'jsonl', [
        ...pageWith(user),
      ]);
      expectNamed(error, path, field, cause);
    });
  }

  it('names the user error a toJSON threw as the cause', async () => {
    const { error } = await refusedPage((path) => jsonLinesSink({ path }), 'jsonl', [
      ...pageWith({ id: throwingToJson }),
    ]);
    expect(error.cause).toEqual(new Error('no JSON today'));
  });

  it('names a value toJson returned by toJson(items[i])', async () => {
    const { error, path } = await refusedPage(
      (path) =>
        jsonLinesSink<Item>({ path, toJson: (item) => ({ n: item.n, wrapped: item.user }) }),
      'jsonl',
      [...pageWith({ id: fn })],
    );
    expectNamed(error, path, 'toJson(items[3]).wrapped.id', /is a function/);
  });

  it('refuses a top-level function, symbol or undefined', async () => {
    for (const top of [fn, Symbol('top'), undefined]) {
      const { error, path } = await refusedPage(
        (path) => jsonLinesSink<Item>({ path, toJson: (item) => (item.n === 2 ? top : item) }),
        'jsonl',
        [...pageWith({ name: 'd' })],
      );
      expectNamed(error, path, 'toJson(items[1])', /is (a function|a symbol|undefined)/, 1);
    }
  });

  it('writes what JSON holds faithfully as before: Dates, toJSON, undefined properties left out', async () => {
    const path = join(await tempDir(), 'fine.jsonl');
    const shared = { k: 1 };
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const item = {
      n: 1,
      gone: undefined,
      when: new Date(Date.UTC(2026, 0, 2)),
      money,
      bytes: Buffer.from('hi'),
      point: new Point(1, 2),
      list: [1, undefined, null, -0, 1e300],
      twice: [shared, shared],
      text: 'lone \ud83d half, "quotes", \n',
      deep: { a: { b: { c: { d: [{ e: [] }] } } } },
    };
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink({ path });
    await sink.write([item], { unit: UNIT, run, signal: run.signal });
    await sink.close?.();
    await run.close();
    const text = await readFile(path, 'utf8');
    expect(text).toBe(`${JSON.stringify(item)}\n`);
    expect(text).not.toContain('gone');
    expect(text).toContain('"when":"2026-01-02T00:00:00.000Z"');
    expect(text).toContain('"money":"5.00 EUR"');
  });
});

describe('CSV: cells that cannot be written', () => {
  const make = (path: string) =>
    csvSink<Item>({
      path,
      columns: ['n', 'user', { header: 'calc', value: (item) => item.calc }],
    });

  for (const [what, user, field, cause] of nestedCases) {
    it(`refuses ${what} inside an object cell with the field named`, async () => {
      const { error, path } = await refusedPage(make, 'csv', [...pageWith(user)]);
      expectNamed(error, path, field, cause);
      expect(error.message).toContain('column "user"');
    });
  }

  const cellCases: [string, unknown, RegExp][] = [
    ['a function', fn, /is a function/],
    ['a symbol', Symbol('s'), /is a symbol/],
    ['a Map', new Map([['a', 1]]), /is a Map/],
    ['an invalid Date', new Date(Number.NaN), /invalid Date/],
  ];
  for (const [what, cell, cause] of cellCases) {
    it(`refuses ${what} as a cell`, async () => {
      const { error, path } = await refusedPage(make, 'csv', [...pageWith(cell)]);
      expectNamed(error, path, 'items[3].user', cause);
    });
  }

  it("names a column function's value by the column", async () => {
    const { error, path } = await refusedPage(make, 'csv', [
      { n: 1, user: 'a' },
      { n: 2, user: 'b', calc: { deep: [1n] } },
    ]);
    expectNamed(error, path, 'columns[2].value(items[1]).deep[0]', /bigint/, 1);
    expect(error.message).toContain('column "calc"');
  });

  it('writes bigints, NaN, Dates and objects with toJSON as before', async () => {
    const path = join(await tempDir(), 'fine.csv');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = make(path);
    await sink.write(
      [
        { n: 12345678901234567890n, user: money, calc: new Date(Date.UTC(2026, 0, 2)) },
        { n: Number.NaN, user: { a: 1, gone: undefined }, calc: [1, undefined] },
      ],
      { unit: UNIT, run, signal: run.signal },
    );
    await sink.close?.();
    await run.close();
    expect(await readFile(path, 'utf8')).toBe(
      'n,user,calc\n' +
        '12345678901234567890,"""5.00 EUR""",2026-01-02T00:00:00.000Z\n' +
        'NaN,"{""a"":1}","[1,null]"\n',
    );
  });

  it('csvCell refuses a function or a symbol rather than write its source text', () => {
    expect(() => csvCell(fn)).toThrow(/is a function/);
    expect(() => csvCell(Symbol('s'))).toThrow(/is a symbol/);
    expect(() => csvCell({ a: 1n })).toThrow(/value\.a is a bigint/);
    expect(csvCell(1n)).toBe('1');
  });
});
