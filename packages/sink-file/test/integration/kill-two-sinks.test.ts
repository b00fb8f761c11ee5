/**
 * The kill test with two file sinks on one run (JSON Lines and CSV side by side, each with its own
 * id, both rotating): a kill lands between the two sinks' writes of a page as often as between a
 * write and its flush. Every file and part of both must equal an uninterrupted run's, byte for byte.
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

describe('two file sinks of one run under kill -9', () => {
  const lane: Lane = { mode: 'shared', format: 'both', concurrency: 1, kills: 8, maxBytes: 2048 };
  it(`${lane.kills} kills, JSON Lines and CSV of one run, parts of 2 KiB: both equal an uninterrupted run`, async () => {
    const counts = await killLane(bundle, lane);
    console.log('kill test (two sinks):', counts);
    expect(counts.kills).toBe(lane.kills);
    // The JSON sink (the default id) had pages on disk that no flush acknowledged, often.
    expect(counts.tails).toBeGreaterThanOrEqual(lane.kills / 4);
  });
});
