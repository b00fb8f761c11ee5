/**
 * A lane of the kill test: runs the job in a child process, kills it with SIGKILL after a random
 * number of pages, starts it again, until `kills` kills; then compares the output with an
 * uninterrupted run's.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckpointFiles } from '@checkpointkit/storage-file';
import { expect } from 'vitest';
import { DEFAULT_SINK_ID, partPath, recordedFiles } from '../../src/index.js';
import { killHard, startJob } from './child.js';
import { PAGES, SIZE, tempDir, UNITS } from './jobs.js';

export type Mode = 'shared' | 'per-unit';
/** `both`: a JSON Lines sink and a CSV sink on one run. */
export type Format = 'jsonl' | 'csv' | 'both';
export interface Lane {
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

/** The job child's arguments for a lane writing into `dir`. */
function jobArgs(dir: string, lane: Lane): string[] {
  const rotation = lane.maxBytes ? [String(lane.maxBytes)] : [];
  return [dir, lane.mode, lane.format, String(lane.concurrency), ...rotation];
}

/** Runs the job to its end, killing nothing. */
async function runToEnd(bundle: string, dir: string, lane: Lane): Promise<void> {
  const child = startJob(bundle, jobArgs(dir, lane));
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

export async function killLane(bundle: string, lane: Lane) {
  const reference = await tempDir();
  await runToEnd(bundle, reference, lane);
  const expected = await outputs(reference);
  const counts = { kills: 0, tails: 0, jobs: 0, restarts: 0 };
  const check = async (dir: string) => {
    const got = await outputs(dir);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    // The job's own unacknowledged output is cut, never kept aside: the hold its killed process
    // left names the job. A finished job leaves no hold, nor anything a killed process left while
    // it made, took over or released one (swept by the next run, which knows the dead maker by
    // the leftover's name).
    const names = await readdir(dir, { recursive: true });
    const left = names.filter((name) => /\.replaced-|\.sink-hold/.test(name));
    expect(left).toEqual([]);
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
    const child = startJob(bundle, jobArgs(dir, lane));
    counts.restarts += 1;
    await child.waitFor((line) => line === 'ready');
    // Kill after a random number of pages (counted, not timed), then a moment more, so that
    // some kills land inside a write or a flush.
    const target = Math.floor(Math.random() * 6);
    // Or the job ends first (fewer pages were left): its `done` line, not its exit, which can
    // come before the last lines are read (it would count as a kill). A job that dies on its own
    // fails both waits.
    await Promise.race([
      child.waitForCount((line) => line === 'page', target),
      child.waitFor((line) => line === 'done'),
    ]);
    if (!child.lines.includes('done')) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      await killHard(child);
    }
    // Not killed (it ended before the kill reached it): a finished job, not a kill.
    if (child.process.signalCode !== 'SIGKILL') {
      expect(await child.exited).toBe(0);
      expect(child.lines).toContain('done');
      await check(dir);
      dir = await tempDir();
      continue;
    }
    counts.kills += 1;
    counts.tails += await unacknowledgedTails(dir);
  }
  await runToEnd(bundle, dir, lane);
  await check(dir);
  return counts;
}
