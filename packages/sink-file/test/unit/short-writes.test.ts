/**
 * A file system whose `write` writes nothing and reports no error (a FUSE file system can). The
 * sink goes on after a short write where it stopped (a write of 7 bytes at a time was found to
 * give a whole page, before and after), so one that writes nothing was retried forever, a job
 * that spins and never ends: it must fail the unit with a SinkFileError naming the file, and
 * nothing of the page may stay.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryStore, openRun } from '@checkpointkit/core';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { jsonLinesSink, SinkFileError } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);
afterEach(() => vi.restoreAllMocks());

/** The prototype every FileHandle's `write` comes from, to make writes short. */
async function fileHandlePrototype(dir: string): Promise<FileHandle> {
  const handle = await open(join(dir, 'probe'), 'w');
  await handle.close();
  return Object.getPrototypeOf(handle) as FileHandle;
}

/**
 * Makes each write write at most `most` bytes of what it is asked (0: nothing), `times` times,
 * then the whole again: a bounded number, so a sink that retries forever ends the test instead.
 */
function shortWrites(proto: FileHandle, most: number, times: number): void {
  const write = proto.write as (...args: unknown[]) => Promise<{ bytesWritten: number }>;
  let left = times;
  vi.spyOn(proto, 'write').mockImplementation(function (this: FileHandle, ...args: unknown[]) {
    const [buffer, offset, length, position] = args as [Uint8Array, number, number, number];
    if (left <= 0 || typeof length !== 'number') return write.apply(this, args) as never;
    left--;
    if (most === 0) return Promise.resolve({ bytesWritten: 0, buffer }) as never;
    return write.call(this, buffer, offset, Math.min(length, most), position) as never;
  });
}

describe('a write that makes no progress', () => {
  it('a write that writes nothing and reports no error: SinkFileError naming the file, nothing kept', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink<{ n: number }>({ path });
    await sink.write([{ n: 0 }], { unit: 'u', run, signal: run.signal });
    shortWrites(await fileHandlePrototype(dir), 0, 10_000);
    const thrown = await Promise.resolve(
      sink.write([{ n: 1 }], { unit: 'u', run, signal: run.signal }),
    ).catch((e: unknown) => e);
    // Before: retried the empty write 10,000 times (forever, on a real such file system).
    expect(thrown).toBeInstanceOf(SinkFileError);
    expect(thrown).toMatchObject({ file: path, operation: 'write' });
    expect(String(thrown)).toMatch(/wrote 0 bytes/);
    vi.restoreAllMocks();
    expect(await readFile(path, 'utf8')).toBe('{"n":0}\n');
    await sink.close?.();
    await run.close();
  });
});
