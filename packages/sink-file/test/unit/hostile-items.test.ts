/**
 * Items a line format cannot hold, and encoders that throw: the unit fails with a typed error that
 * names the file, the unit, the item and the cause, is not retried (the same item fails again),
 * and nothing of the page reaches the file, while the other units go on.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  memoryStore,
  OptionsError,
  openRun,
  pipeline,
  type Source,
  UnitError,
} from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  csvSink,
  jsonLinesSink,
  partPath,
  SinkFileItemError,
  sinkStateKey,
} from '../../src/index.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

/** Unit `bad` yields one good page, then a page whose item 1 is `poison`; unit `good` two good pages. */
function poisoned(poison: unknown): Source<Record<string, unknown>> {
  return {
    units: () => [{ key: 'bad' }, { key: 'good' }],
    async *read({ key, cursor }) {
      if (cursor === null) yield { items: [{ key, n: 0 }], cursor: 1 };
      if (key === 'bad')
        yield {
          items: [
            { key, n: 1 },
            { key, n: 2, poison },
          ],
          cursor: 2,
        };
      else yield { items: [{ key, n: 1 }], cursor: 2 };
    },
  };
}

const cycle: Record<string, unknown> = { name: 'loop' };
cycle.self = cycle;

describe('items JSON Lines cannot hold', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a bigint', 12n, /BigInt/i],
    ['a cycle', cycle, /circular/i],
  ];
  for (const [what, poison, cause] of cases) {
    it(`fails the unit on ${what} with a typed error naming file, unit, item and cause`, async () => {
      const dir = await tempDir();
      const path = (unit: string) => join(dir, `${unit}.jsonl`);
      const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
      const result = await pipeline({
        run,
        source: poisoned(poison),
        sink: jsonLinesSink({ path }),
      });
      expect(result).toMatchObject({ completed: 1, failed: 1 });
      const failure = run.unit('bad')?.error;
      expect(failure?.retryable).toBe(false);
      expect(failure?.message).toContain(path('bad'));
      expect(failure?.message).toContain('item 1');
      expect(failure?.message).toContain('of a page of bad for');
      expect(failure?.message).toMatch(cause);
      // The page before it is there, and nothing of the page that failed.
      expect(await readFile(path('bad'), 'utf8')).toBe('{"key":"bad","n":0}\n');
      expect(await readFile(path('good'), 'utf8')).toBe(
        '{"key":"good","n":0}\n{"key":"good","n":1}\n',
      );
      await run.close();
    });
  }

  it('throws SinkFileItemError, not retryable, when toJson throws, with its error as the cause', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const sink = jsonLinesSink<{ n: number }>({
      path,
      toJson: (item) => {
        if (item.n === 3) throw new Error('no n 3 please');
        return item;
      },
    });
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await sink.open?.({ run, signal: run.signal });
    await sink.write([{ n: 1 }], { unit: 'u', run, signal: run.signal });
    const error = await Promise.resolve(
      sink.write([{ n: 2 }, { n: 3 }], { unit: 'u', run, signal: run.signal }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkFileItemError);
    expect(error).toBeInstanceOf(UnitError);
    expect(error).toMatchObject({ file: path, unit: 'u', item: 1, retryable: false });
    expect((error as Error).cause).toEqual(new Error('no n 3 please'));
    expect((error as Error).message).toContain('no n 3 please');
    // The sink goes on: the next page lands right after the first.
    await sink.write([{ n: 4 }], { unit: 'u', run, signal: run.signal });
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n{"n":4}\n');
    await sink.close?.();
    await run.close();
  });

  it('a top-level undefined is a SinkFileItemError too', async () => {
    const dir = await tempDir();
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink({ path: join(dir, 'x.jsonl'), toJson: () => () => 1 });
    const error = await Promise.resolve(
      sink.write([{}], { unit: 'u', run, signal: run.signal }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkFileItemError);
    expect((error as Error).message).toMatch(/item 0 .* is not JSON/);
    expect(error).toMatchObject({ field: 'toJson(items[0])' });
    await sink.close?.();
    await run.close();
  });
});

describe('CSV cells that cannot be written', () => {
  it('a column function that throws, and a cell holding a cycle, fail the unit with SinkFileItemError', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.csv');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = csvSink<{ n: number; extra?: unknown }>({
      path,
      columns: [
        'n',
        {
          header: 'double',
          value: (item) => {
            if (item.n === 7) throw new RangeError('seven is unlucky');
            return item.n * 2;
          },
        },
        'extra',
      ],
    });
    await sink.write([{ n: 1 }], { unit: 'u', run, signal: run.signal });
    const thrown = await Promise.resolve(
      sink.write([{ n: 2 }, { n: 7 }], { unit: 'u', run, signal: run.signal }),
    ).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(SinkFileItemError);
    expect(thrown).toMatchObject({ file: path, unit: 'u', item: 1 });
    expect((thrown as Error).message).toContain('seven is unlucky');
    const cyclic = await Promise.resolve(
      sink.write([{ n: 3, extra: cycle }], { unit: 'u', run, signal: run.signal }),
    ).catch((e: unknown) => e);
    expect(cyclic).toBeInstanceOf(SinkFileItemError);
    expect((cyclic as Error).message).toMatch(/circular/i);
    // The header and the first row, nothing of the pages that failed.
    expect(await readFile(path, 'utf8')).toBe('n,double,extra\n1,2,\n');
    await sink.close?.();
    await run.close();
  });
});

describe('CSV cells UTF-8 cannot hold', () => {
  it('a lone surrogate fails the unit with SinkFileItemError naming the column, not a silent U+FFFD', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.csv');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = csvSink<{ n: number; name: string }>({ path, columns: ['n', 'name'] });
    const write = (items: { n: number; name: string }[]) =>
      Promise.resolve(sink.write(items, { unit: 'u', run, signal: run.signal })).catch(
        (e: unknown) => e,
      );
    // A pair is one character, written as its four bytes; NUL and line breaks are data, quoted.
    expect(await write([{ n: 1, name: 'ok 😀 \0 a\nb' }])).not.toBeInstanceOf(Error);
    // Half of a pair, as a string cut in the middle of an emoji has it.
    const thrown = await write([
      { n: 2, name: 'fine' },
      { n: 3, name: '😀'.slice(0, 1) },
    ]);
    // Before: written as EF BF BD (U+FFFD), the user's text changed without a word.
    expect(thrown).toBeInstanceOf(SinkFileItemError);
    expect(thrown).toMatchObject({
      file: path,
      unit: 'u',
      item: 1,
      field: 'items[1].name',
      retryable: false,
    });
    expect(String(thrown)).toMatch(/column "name": items\[1\]\.name holds a lone surrogate/);
    expect(await readFile(path, 'utf8')).toBe('n,name\n1,"ok 😀 \0 a\nb"\n');
    // In a header, it is an option that cannot work.
    expect(() => csvSink({ path, columns: [{ header: '\udc00', value: () => 1 }] })).toThrow(
      OptionsError,
    );
    await sink.close?.();
    await run.close();
  });
});

describe('huge pages', () => {
  it('writes a page of 20 MiB whole, and a part may hold one page larger than maxBytes', async () => {
    const dir = await tempDir();
    const path = join(dir, 'big.jsonl');
    const blob = 'é'.repeat(512 * 1024); // 1 MiB of UTF-8
    const items = Array.from({ length: 20 }, (_, n) => ({ n, blob }));
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink({ path, maxBytes: 1024 });
    await sink.open?.({ run, signal: run.signal });
    const first = await sink.write(items, { unit: 'u', run, signal: run.signal });
    const second = await sink.write(items.slice(0, 1), { unit: 'u', run, signal: run.signal });
    await sink.close?.();
    await run.close();
    const expected = items.map((item) => `${JSON.stringify(item)}\n`).join('');
    expect((await readFile(path)).equals(Buffer.from(expected))).toBe(true);
    expect(first).toMatchObject({
      meta: { [sinkStateKey('sink-file', path)]: { bytes: Buffer.byteLength(expected) } },
    });
    expect((await stat(partPath(path, 1))).size).toBe(
      Buffer.byteLength(`${expected.split('\n')[0]}\n`),
    );
    expect(second).toMatchObject({ meta: { [sinkStateKey('sink-file', path)]: { part: 1 } } });
  });
});
