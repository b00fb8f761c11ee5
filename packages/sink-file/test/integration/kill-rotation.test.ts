/**
 * The kill test on what its lanes in kill.test.ts leave out: a file per unit that rotates, CSV
 * (a header in each part), three units at once, so kills land in rotations of several files.
 * Each file and each part must equal an uninterrupted run's, byte for byte.
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

describe('rotating files per unit under kill -9', () => {
  const lane: Lane = { mode: 'per-unit', format: 'csv', concurrency: 3, kills: 30, maxBytes: 700 };
  it('30 kills, per-unit csv, concurrency 3, parts of 700 bytes: every part equals an uninterrupted run', async () => {
    const counts = await killLane(bundle, lane);
    console.log('kill test (per-unit csv c3, rotating):', counts);
    expect(counts.kills).toBe(lane.kills);
    expect(counts.tails).toBeGreaterThanOrEqual(lane.kills / 4);
  });
});
