/**
 * The kill test: a child process runs a pipeline into a file sink, checkpointed by the file
 * store, and is killed with SIGKILL after a random number of pages (most kills land between a
 * page written and the flush that records it, some inside a write); it is started again until
 * the job is done. Every finished job's output must equal an uninterrupted run's, byte for byte
 * (for units interleaved in one file: every row once, each unit's rows in order).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckpointFiles } from '@checkpointkit/storage-file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SINK_ID, partPath, recordedFiles } from '../../src/index.js';
import { bundleJob, killHard, startJob } from '../helpers/child.js';
import { PAGES, removeTempDirs, SIZE, tempDir, UNITS } from '../helpers/jobs.js';

let bundle: string;
beforeAll(async () => {
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'));
});
afterAll(removeTempDirs);

type Mode = 'shared' | 'per-unit';
type Format = 'jsonl' | 'csv';
interface Lane {
  mode: Mode;
  format: Format;
  concurrency: number;
  kills: number;
  /** Rotation by size. */
  maxBytes?: number;
}

/** Every output file of a job under `dir`, by name relative to it, with its bytes. */
async function outputs(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(jsonl|csv)$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    if (file.startsWith(join(dir, '.checkpoints'))) continue; // the store's own journal
    files.set(file.slice(dir.length + 1), await readFile(file));
  }
  return files;
}

/** Runs the job to its end, killing nothing. */
async function runToEnd(dir: string, lane: Lane): Promise<void> {
  const child = startJob(bundle, [
    dir,
    lane.mode,
    lane.format,
    String(lane.concurrency),
    ...(lane.maxBytes ? [String(lane.maxBytes)] : []),
  ]);
  await child.waitFor((line) => line === 'done');
  expect(await child.exited).toBe(0);
}

/** Files longer than the checkpoint recorded after a kill: pages the resume must cut off. */
async function unacknowledgedTails(dir: string): Promise<number> {
  const read = await readCheckpointFiles(join(dir, '.checkpoints'), 'kill-test');
  // Bytes acknowledged per file: the parts before an output's recorded part are whole.
  const acknowledged = new Map<string, number>();
  for (const [path, { part, bytes }] of recordedFiles(read!.checkpoint, DEFAULT_SINK_ID)) {
    for (let earlier = 0; earlier < part; earlier++) {
      acknowledged.set(partPath(path, earlier), Number.POSITIVE_INFINITY);
    }
    acknowledged.set(partPath(path, part), bytes);
  }
  let tails = 0;
  for (const [name, bytes] of await outputs(dir)) {
    if (bytes.length > (acknowledged.get(join(dir, name)) ?? 0)) tails += 1;
  }
  return tails;
}

/** Rows of interleaved units in one file: each once, each unit's in order, the CSV header once. */
function expectInterleavedComplete(text: string, format: Format): void {
  const lines = text.trimEnd().split('\n');
  if (format === 'csv') expect(lines.shift()).toBe('unit,n,text');
  expect(lines).toHaveLength(UNITS * PAGES * SIZE);
  expect(new Set(lines).size).toBe(lines.length);
  for (let u = 0; u < UNITS; u++) {
    const unit = `u${u}`;
    const numbers = lines
      .filter((line) =>
        format === 'csv' ? line.startsWith(`${unit},`) : line.includes(`"unit":"${unit}"`),
      )
      .map((line) =>
        format === 'csv' ? Number(line.split(',')[1]) : (JSON.parse(line) as { n: number }).n,
      );
    expect(numbers).toEqual(Array.from({ length: PAGES * SIZE }, (_, n) => n));
  }
}

async function killLane(lane: Lane) {
  const reference = await tempDir();
  await runToEnd(reference, lane);
  const expected = await outputs(reference);
  const counts = { kills: 0, tails: 0, jobs: 0, restarts: 0 };
  const check = async (dir: string) => {
    const got = await outputs(dir);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, bytes] of got) {
      if (lane.mode === 'shared' && lane.concurrency > 1) {
        expectInterleavedComplete(bytes.toString('utf8'), lane.format);
      } else {
        expect(
          bytes.equals(expected.get(name) as Buffer),
          `${name} after ${counts.kills} kills`,
        ).toBe(true);
      }
    }
    counts.jobs += 1;
  };

  let dir = await tempDir();
  while (counts.kills < lane.kills) {
    const child = startJob(bundle, [
      dir,
      lane.mode,
      lane.format,
      String(lane.concurrency),
      ...(lane.maxBytes ? [String(lane.maxBytes)] : []),
    ]);
    counts.restarts += 1;
    await child.waitFor((line) => line === 'ready');
    // Kill after a random number of pages (counted, not timed), then a moment more, so that
    // some kills land inside a write or a flush.
    const target = Math.floor(Math.random() * 6);
    await Promise.race([child.waitForCount((line) => line === 'page', target), child.exited]);
    if (child.lines.includes('done')) {
      expect(await child.exited).toBe(0);
      await check(dir);
      dir = await tempDir();
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    await killHard(child);
    counts.kills += 1;
    counts.tails += await unacknowledgedTails(dir);
  }
  await runToEnd(dir, lane);
  await check(dir);
  return counts;
}

describe('file sinks under kill -9', () => {
  const lanes: Lane[] = [
    { mode: 'shared', format: 'jsonl', concurrency: 1, kills: 60 },
    { mode: 'per-unit', format: 'jsonl', concurrency: 3, kills: 30 },
    { mode: 'shared', format: 'csv', concurrency: 3, kills: 30 },
    { mode: 'shared', format: 'jsonl', concurrency: 1, kills: 30, maxBytes: 4096 },
  ];
  for (const lane of lanes) {
    const rotating = lane.maxBytes ? `, parts of ${lane.maxBytes} bytes` : '';
    it(`${lane.kills} kills, ${lane.mode} ${lane.format}, concurrency ${lane.concurrency}${rotating}: the output equals an uninterrupted run`, async () => {
      const counts = await killLane(lane);
      console.log(`kill test (${lane.mode} ${lane.format} c${lane.concurrency}):`, counts);
      expect(counts.kills).toBe(lane.kills);
      expect(counts.jobs).toBeGreaterThanOrEqual(1);
      // Kills left written pages that no flush acknowledged, which the resume had to cut off.
      expect(counts.tails).toBeGreaterThanOrEqual(lane.kills / 4);
    });
  }
});
