/**
 * A page whose text is longer than a JavaScript string can hold (V8: 536,870,888 UTF-16 code
 * units): the sink threw a bare `RangeError: Invalid string length`, retried as if the disk had
 * failed. It is now a SinkFilePageSizeError naming the unit, the file and the size, with nothing
 * written. Half a gigabyte of text is too heavy for a test, so these lower the limit the sink
 * checks (`pageLimits`, test-only) and run the same check on small pages; the real limit was
 * checked once by hand with 6 items of 100 million characters.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryStore, openRun, pipeline, type Sink, type Source } from '@checkpointkit/core';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { csvSink, jsonLinesSink, SinkFilePageSizeError } from '../../src/index.js';
import { pageLimits } from '../../src/items.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

const realLimit = pageLimits.maxChars;

afterEach(() => {
  pageLimits.maxChars = realLimit;
  vi.restoreAllMocks();
});
afterAll(removeTempDirs);

const UNIT = 'big-unit';

/** `count` items whose JSON line is exactly `length` characters with its `\n`. */
function items(count: number, length: number): { t: string }[] {
  const padding = length - '{"t":""}\n'.length;
  return Array.from({ length: count }, () => ({ t: 'é'.repeat(padding) }));
}

async function writeRefused(
  sink: Sink<{ t: string }>,
  path: string,
  page: { t: string }[],
): Promise<SinkFilePageSizeError> {
  const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
  const context = { unit: UNIT, run, signal: run.signal };
  try {
    await sink.write([{ t: 'first' }], context);
    const before = await readFile(path);
    const error = await Promise.resolve(sink.write(page, context)).catch((e: unknown) => e);
    expect((await readFile(path)).equals(before)).toBe(true);
    // The sink goes on with the next page, right after the first.
    await sink.write([{ t: 'next' }], context);
    expect((await readFile(path)).subarray(0, before.length).equals(before)).toBe(true);
    expect(error).toBeInstanceOf(SinkFilePageSizeError);
    return error as SinkFilePageSizeError;
  } finally {
    await sink.close?.();
    await run.close();
  }
}

describe('pages longer than a string can hold', () => {
  it('the limit is V8 string limit', () => {
    expect(realLimit).toBe(536_870_888);
  });

  it('JSON Lines: refuses the page with its size, writing none of it, and writes one at the limit', async () => {
    pageLimits.maxChars = 1000;
    const path = join(await tempDir(), 'out.jsonl');
    // 100-character lines: the 11th passes 1000.
    const error = await writeRefused(jsonLinesSink({ path }), path, items(20, 100));
    expect(error).toMatchObject({
      file: path,
      unit: UNIT,
      items: 20,
      item: 10,
      chars: 1100,
      limit: 1000,
      retryable: false,
    });
    expect(error.message).toContain(`a page of ${UNIT} for ${path} is too large`);
    expect(error.message).toContain('1100 characters at item 10 of 20');
    expect(error.message).toContain('1000 characters a JavaScript string can hold');

    // Exactly the limit is fine.
    const exact = join(await tempDir(), 'exact.jsonl');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink<{ t: string }>({ path: exact });
    await sink.write(items(10, 100), { unit: UNIT, run, signal: run.signal });
    await sink.close?.();
    await run.close();
    expect((await readFile(exact, 'utf8')).length).toBe(1000);
  });

  it('CSV: the header counts toward the page', async () => {
    pageLimits.maxChars = 1000;
    const path = join(await tempDir(), 'out.csv');
    const sink = csvSink<{ t: string }>({ path, columns: ['t'] });
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    // "t\n" and ten rows of 99 + "\n": 1002 characters, the header's 2 passing the limit.
    const rows = Array.from({ length: 10 }, () => ({ t: 'x'.repeat(99) }));
    const error = await Promise.resolve(
      sink.write(rows, { unit: UNIT, run, signal: run.signal }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkFilePageSizeError);
    expect(error).toMatchObject({ unit: UNIT, file: path, item: 9, chars: 1002 });
    expect(await readFile(path, 'utf8')).toBe('');
    // Without the header row it fits.
    await sink.write(rows.slice(1), { unit: UNIT, run, signal: run.signal });
    await sink.close?.();
    await run.close();
  });

  it('an item JSON.stringify cannot return (V8 refuses the string) is named, not a bare RangeError', async () => {
    const path = join(await tempDir(), 'one.jsonl');
    const huge = { t: 'stands for half a gigabyte' };
    const stringify = JSON.stringify;
    vi.spyOn(JSON, 'stringify').mockImplementation((value, ...rest) => {
      // What V8 throws when the text passes its limit.
      if (value === huge) throw new RangeError('Invalid string length');
      return stringify(value, ...(rest as []));
    });
    const error = await writeRefused(jsonLinesSink({ path }), path, [{ t: 'a' }, huge]);
    expect(error).toMatchObject({ unit: UNIT, file: path, items: 2, item: 1, chars: undefined });
    expect(error.message).toContain('item 1 alone is longer than the 536870888 characters');
  });

  it('in a pipeline the unit fails, not retried, and the other units go on', async () => {
    pageLimits.maxChars = 1000;
    const dir = await tempDir();
    const source: Source<{ t: string }> = {
      units: () => [{ key: 'big' }, { key: 'small' }],
      async *read({ key }) {
        yield { items: key === 'big' ? items(20, 100) : items(2, 100), cursor: 1 };
      },
    };
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const result = await pipeline({
      run,
      source,
      sink: jsonLinesSink({ path: (unit) => join(dir, `${unit}.jsonl`) }),
    });
    expect(result).toMatchObject({ completed: 1, failed: 1 });
    expect(run.unit('big')?.error).toMatchObject({ retryable: false });
    expect(run.unit('big')?.error?.message).toMatch(/a page of big .* is too large/);
    expect(await readFile(join(dir, 'big.jsonl'), 'utf8')).toBe('');
    expect((await readFile(join(dir, 'small.jsonl'), 'utf8')).length).toBe(200);
    await run.close();
  });
});
