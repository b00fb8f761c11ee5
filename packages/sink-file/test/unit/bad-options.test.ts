/**
 * Options and path functions a stranger hands the sink: a `maxBytes` that is not a size, a path
 * that is empty or not a string, a path function that names a folder. Each must be refused with a
 * typed error naming the option (or the unit) and what was wrong, and nothing may be created.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryStore, OptionsError, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { csvSink, jsonLinesSink, SinkFilePathError } from '../../src/index.js';
import { numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

describe('options', () => {
  it.each([
    [0, /above 0, got 0;/],
    [-5, /above 0, got -5;/],
    [Number.NaN, /got NaN/],
    [1.5, /whole number.*got 1\.5/],
    ['4096', /whole number .*got a string "4096"/],
    [true, /got a boolean \(true\)/],
  ])('maxBytes %s is an OptionsError naming the option and the value', (maxBytes, message) => {
    const make = () => jsonLinesSink({ path: 'out.jsonl', maxBytes: maxBytes as number });
    expect(make).toThrow(OptionsError);
    expect(make).toThrow(/^file sink: option "maxBytes" /);
    expect(make).toThrow(message);
  });

  it('maxBytes Infinity or undefined is no rotation', () => {
    expect(() =>
      jsonLinesSink({ path: 'out.jsonl', maxBytes: Number.POSITIVE_INFINITY }),
    ).not.toThrow();
    expect(() => jsonLinesSink({ path: 'out.jsonl', maxBytes: undefined })).not.toThrow();
  });

  it.each([
    ['', /empty/],
    [42, /a number/],
    [undefined, /undefined/],
    ['out/', /folder/],
  ])('a path of %j is an OptionsError', (path, message) => {
    const make = () => jsonLinesSink({ path: path as string });
    expect(make).toThrow(OptionsError);
    expect(make).toThrow(/^file sink: option "path" /);
    expect(make).toThrow(message);
  });

  it('csv options that cannot work are OptionsErrors too', () => {
    expect(() => csvSink({ path: 'x.csv', columns: [] })).toThrow(OptionsError);
    expect(() => csvSink({ path: 'x.csv', columns: ['n'], delimiter: '"' })).toThrow(
      /^csvSink: option "delimiter" .*"\\""/,
    );
  });
});

describe('a path function that returns no file path', () => {
  it.each([
    ['an empty string', () => '', /returned ""/],
    ['a number', () => 42, /returned a number \(42\)/],
    ['undefined', () => undefined, /returned undefined/],
    ['a path ending in a separator', (dir: string) => join(dir, 'sub/'), /ends with a separator/],
    ['an existing folder', (dir: string) => join(dir, 'folder'), /is a folder/],
  ])(
    '%s: the write fails with SinkFilePathError naming the unit and the value; nothing is created',
    async (_, pathOf, message) => {
      const dir = await tempDir();
      await mkdir(join(dir, 'folder'));
      const cwd = await tempDir();
      const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
      const sink = jsonLinesSink<Row>({
        path: (unit) => (unit === 'u0' ? join(dir, 'fine.jsonl') : (pathOf(dir) as string)),
      });
      const started = process.cwd();
      process.chdir(cwd);
      const result = await pipeline({ run, source: numberedSource(2, 2), sink }).finally(() =>
        process.chdir(started),
      );
      const error = await Promise.resolve()
        .then(() =>
          sink.write([{ unit: 'u1', n: 0, text: '' }], { unit: 'u1', run, signal: run.signal }),
        )
        .catch((e: unknown) => e);
      await sink.close?.();
      await run.close();
      expect(await readdir(dir)).toEqual(['fine.jsonl', 'folder']);
      expect(await readdir(join(dir, 'folder'))).toEqual([]);
      expect(await readdir(cwd)).toEqual([]);
      expect(result).toMatchObject({ completed: 1, failed: 1 });
      expect(error).toBeInstanceOf(SinkFilePathError);
      expect(error).toMatchObject({ unit: 'u1', retryable: false });
      expect(String(error)).toMatch(
        /^SinkFilePathError: file sink: the path function, for unit "u1", /,
      );
      expect(String(error)).toMatch(message);
    },
  );
});
