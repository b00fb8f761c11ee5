/**
 * A new output whose folder cannot be synced after the file was made (out of descriptors,
 * EMFILE, is where this happens first: the folder needs one more). The file's descriptor was left
 * open for the garbage collector (Node warns, and will throw), one more lost each time the page
 * is tried again. It must be closed, and the unit fail with a SinkFileError naming the file.
 * The retry then finds the file there: it must sync the folder before the first page goes in,
 * or the file's name may not survive a power loss though its pages are recorded as durable.
 */

import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { memoryStore, openRun } from '@checkpointkit/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { jsonLinesSink, SinkFileError } from '../../src/index.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, open: vi.fn(actual.open) };
});

afterAll(removeTempDirs);

describe('a folder that cannot be synced after its new file was made', () => {
  it('closes the file it opened, and fails the unit naming the file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const actual = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');
    const handles: { handle: FileHandle; closed: boolean }[] = [];
    vi.mocked(fs.open).mockImplementation(async (file, flags, mode) => {
      // The folder, opened read-only to be synced: out of descriptors.
      if (file === dir && flags === constants.O_RDONLY)
        throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      const handle = await actual.open(file, flags, mode);
      const entry = { handle, closed: false };
      handles.push(entry);
      const close = handle.close.bind(handle);
      handle.close = () => {
        entry.closed = true;
        return close();
      };
      return handle;
    });
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink<{ n: number }>({ path: () => path });
    const thrown = await Promise.resolve(
      sink.write([{ n: 0 }], { unit: 'u', run, signal: run.signal }),
    ).catch((e: unknown) => e);
    vi.mocked(fs.open).mockImplementation(actual.open);
    expect(thrown).toBeInstanceOf(SinkFileError);
    expect(thrown).toMatchObject({ file: path, operation: 'open' });
    expect(String(thrown)).toContain('EMFILE');
    // Before: the output's handle was never closed.
    expect(handles.length).toBeGreaterThan(0);
    expect(handles.filter((entry) => !entry.closed)).toEqual([]);
    await sink.close?.();
    await run.close();
  });

  it('syncs the folder on the retry, before the first page goes into the file it made', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const actual = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');
    const events: string[] = [];
    let refused = false;
    vi.mocked(fs.open).mockImplementation(async (file, flags, mode) => {
      const folder = file === dir && flags === constants.O_RDONLY;
      // The first sync of the folder fails once (EIO), after the file was made.
      if (folder && !refused) {
        refused = true;
        throw Object.assign(new Error('EIO: i/o error, open'), { code: 'EIO' });
      }
      const handle = await actual.open(file, flags, mode);
      if (folder) {
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          await sync();
          events.push('folder synced');
        };
      } else if (file === path) {
        const datasync = handle.datasync.bind(handle);
        handle.datasync = async () => {
          await datasync();
          events.push('page synced');
        };
      }
      return handle;
    });
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink<{ n: number }>({ path: () => path });
    const context = { unit: 'u', run, signal: run.signal };
    try {
      const thrown = await Promise.resolve(sink.write([{ n: 0 }], context)).catch(
        (e: unknown) => e,
      );
      expect(thrown).toBeInstanceOf(SinkFileError);
      expect(thrown).toMatchObject({ file: path, operation: 'open' });
      expect(events).toEqual([]);
      // The retry finds the file made: its name must still be made durable before a page counts.
      await sink.write([{ n: 0 }], context);
      expect(events).toEqual(['folder synced', 'page synced']);
      // Once synced, the folder is not synced again for that file.
      await sink.write([{ n: 1 }], context);
      expect(events).toEqual(['folder synced', 'page synced', 'page synced']);
    } finally {
      vi.mocked(fs.open).mockImplementation(actual.open);
      await sink.close?.();
      await run.close();
    }
  });
});
