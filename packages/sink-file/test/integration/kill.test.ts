/**
 * The kill test: a child process runs a pipeline into a file sink, checkpointed by the file
 * store, and is killed with SIGKILL after a random number of pages (most kills land between a
 * page written and the flush that records it, some inside a write); it is started again until
 * the job is done. Every finished job's output must equal an uninterrupted run's, byte for byte
 * (for units interleaved in one file: every row once, each unit's rows in order).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJob } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';
import { killLane, type Lane } from '../helpers/kill-lane.js';

let bundle: string;
beforeAll(async () => {
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'));
});
afterAll(removeTempDirs);

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
      const counts = await killLane(bundle, lane);
      console.log(`kill test (${lane.mode} ${lane.format} c${lane.concurrency}):`, counts);
      expect(counts.kills).toBe(lane.kills);
      expect(counts.jobs).toBeGreaterThanOrEqual(1);
      // Kills left written pages that no flush acknowledged, which the resume had to cut off.
      expect(counts.tails).toBeGreaterThanOrEqual(lane.kills / 4);
    });
  }
});
