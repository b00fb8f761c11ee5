/**
 * A disk that fills up: a child process flushes under a file size limit (`ulimit -f`), so a
 * write past the limit fails part-way, as a write to a full disk does. The flush must be refused
 * with a typed error naming the file, the files must keep every acknowledged flush and nothing
 * of the refused one, and once there is room again the job goes on from there.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { everyUnits, openRun } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointFileName,
  fileStore,
  journalFileName,
  lockFileName,
  readCheckpointFiles,
} from '../../src/index.js';
import { bundleChild, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const LIMIT_KIB = 48;
/** Journal bytes that trigger a compaction in the snapshot test. */
const COMPACT_AFTER = 2048;

interface Refused {
  name: string;
  message: string;
  code?: string;
  file?: string;
  unsaved: number;
}

let bundle: string;
let bundleDir: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-full-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

/** Runs the filler child until its first refused flush; returns the last ack, the error and the warnings. */
async function fillUp(dir: string, id: string, compactAfter: number) {
  const child = startChild(['filler', dir, id, String(compactAfter)], {
    bundle,
    fileSizeLimitKiB: LIMIT_KIB,
  });
  const refusedLine = await child.waitFor((line) => line.startsWith('refused '));
  expect(await child.exited).toBe(0);
  const acks = child.lines.filter((line) => line.startsWith('ack ')).map((l) => Number(l.slice(4)));
  const warnings = child.lines
    .filter((line) => line.startsWith('warning '))
    .map((line) => JSON.parse(line.slice(8)) as { code: string; message: string; file?: string });
  return {
    acked: acks.length,
    refused: JSON.parse(refusedLine.slice(8)) as Refused,
    warnings,
  };
}

/** The stored checkpoint holds exactly flushes 0..n-1, each whole. */
async function expectExactly(dir: string, id: string, n: number): Promise<void> {
  const parsed = await readCheckpointFiles(dir, id);
  expect(parsed).not.toBeNull();
  expect(parsed!.tornTail).toBeNull();
  expect(parsed!.checkpoint.stats['n']).toBe(n);
  const mapped = parsed!.checkpoint.idMaps['m'] ?? {};
  expect(Object.keys(mapped)).toHaveLength(n);
  for (let i = 0; i < n; i++) expect(mapped[`s${i}`]).toBe(i);
}

/** Resumes in this process (no size limit): the job goes on from the last acknowledged flush. */
async function resumeAndFlush(dir: string, id: string, from: number): Promise<void> {
  const store = fileStore({ dir });
  const run = await openRun({ id, store, strategy: everyUnits(1e9), signals: false });
  expect(run.checkpoint.stats['n']).toBe(from);
  for (let n = from; n < from + 3; n++) {
    await run.progress(`u/${n % 64}`, {
      cursor: n,
      items: 1,
      idMappings: [{ map: 'm', source: `s${n}`, target: n }],
    });
    await run.count('n');
    await run.flush('after the disk was freed');
  }
  await run.close();
  await store.close();
  await expectExactly(dir, id, from + 3);
}

/**
 * Gives checkpoint `id` a snapshot bigger than the file size limit (id mappings of a map the
 * filler does not use), written here without the limit. The filler's first compaction then
 * cannot write the snapshot, whatever the machine's speed: left to grow it under the limit, the
 * snapshot had to outgrow it through many compactions that each kept pace with the flushes, and
 * on a loaded machine the journal filled up first (no compaction failed, and the test saw none).
 */
async function prefillPastLimit(dir: string, id: string): Promise<void> {
  const store = fileStore({ dir });
  const run = await openRun({ id, store, strategy: everyUnits(1e9), signals: false });
  const idMappings = Array.from({ length: 4000 }, (_, i) => ({
    map: 'pre',
    source: `pre-${i}`,
    target: i,
  }));
  await run.progress('pre', { cursor: 0, idMappings });
  await run.flush('prefill');
  await store.compact(id);
  await run.close();
  await store.close();
  expect((await stat(join(dir, checkpointFileName(id)))).size).toBeGreaterThan(LIMIT_KIB * 1024);
}

/** Temp files a failed atomic replace would leave if it did not clean up after itself. */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /\.checkpoint\.jsonl?\.\d+$/.test(name));
}

describe('a disk that fills up', () => {
  it('refuses the flush that does not fit with CheckpointWriteError naming the journal, and keeps every flush before it', async () => {
    const dir = await tempDir('ck-full-journal-');
    const id = 'full:journal';
    try {
      // No compaction: the journal grows until a batch no longer fits.
      const { acked, refused } = await fillUp(dir, id, 1e9);
      expect(acked).toBeGreaterThan(10);
      expect(refused).toMatchObject({
        name: 'CheckpointWriteError',
        code: 'EFBIG',
        file: join(dir, journalFileName(id)),
      });
      expect(refused.message).toContain(
        `checkpoint "${id}": could not write ${join(dir, journalFileName(id))}`,
      );
      // The run kept the refused changes, to save with its next flush.
      expect(refused.unsaved).toBeGreaterThan(0);
      // The part of the batch that was written was cut off again: no torn tail, nothing extra.
      await expectExactly(dir, id, acked);
      await resumeAndFlush(dir, id, acked);
    } finally {
      await removeDir(dir);
    }
  });

  it('keeps the journal when a compaction cannot write the snapshot, warns naming the snapshot, and leaves no temp file', async () => {
    const dir = await tempDir('ck-full-snapshot-');
    const id = 'full:snapshot';
    try {
      // Compactions every few flushes of a checkpoint already past the limit: the snapshot
      // cannot be written; the journal keeps every change until it cannot grow either.
      await prefillPastLimit(dir, id);
      const { acked, refused, warnings } = await fillUp(dir, id, COMPACT_AFTER);
      const failed = warnings.filter((warning) => warning.code === 'compaction-failed');
      expect(failed.length).toBeGreaterThan(0);
      // After a failure the store waits for the journal to grow by another threshold before it
      // tries again, instead of rewriting the snapshot on every flush of a disk that stays full:
      // at most one try per threshold of journal the size limit allows (150 tries without that).
      expect(failed.length).toBeLessThanOrEqual(Math.ceil((LIMIT_KIB * 1024) / COMPACT_AFTER) + 1);
      expect(failed[0]!.file).toBe(join(dir, checkpointFileName(id)));
      expect(failed[0]!.message).toContain(`could not write ${join(dir, checkpointFileName(id))}`);
      expect(failed[0]!.message).toContain('EFBIG');
      expect(refused).toMatchObject({ name: 'CheckpointWriteError', code: 'EFBIG' });
      expect(await leftovers(dir)).toEqual([]);
      await expectExactly(dir, id, acked);
      await resumeAndFlush(dir, id, acked);
    } finally {
      await removeDir(dir);
    }
  });

  // docs/guarantees.md, Signals: on Ctrl+C a run flushes, then releases its lock; "if a run
  // cannot save, the error is printed and the process exits anyway; what that run had not
  // flushed is redone next time, as after a crash".
  it('on Ctrl+C with no room left: prints why it could not save, exits 130, releases its lock, keeps every acknowledged flush', async () => {
    const dir = await tempDir('ck-full-interrupt-');
    const id = 'full:interrupt';
    try {
      const child = startChild(['interrupt-full', dir, id], {
        bundle,
        fileSizeLimitKiB: LIMIT_KIB,
      });
      const acked = Number((await child.waitFor((line) => line.startsWith('full '))).slice(5));
      expect(acked).toBeGreaterThan(10);
      child.process.kill('SIGINT');
      expect(await child.closed).toBe(130);
      expect(child.stderr).toMatch(/^checkpointkit: could not save on SIGINT: .*EFBIG/m);
      // The lock is gone, not left for the next run to find and judge (a takeover waits 30 s
      // when the host name changed, as a container's does on every start).
      await expect(stat(join(dir, lockFileName(id)))).rejects.toMatchObject({ code: 'ENOENT' });
      const parsed = await readCheckpointFiles(dir, id);
      expect(parsed!.tornTail).toBeNull();
      expect(parsed!.checkpoint.stats['n']).toBe(acked);
      // Nothing it could not save: not the last unit's page, not the interrupted status.
      expect(parsed!.checkpoint.units['u/last']).toBeUndefined();
      expect(parsed!.checkpoint.status).toBe('running');
    } finally {
      await removeDir(dir);
    }
  });
});
