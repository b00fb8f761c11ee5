/**
 * The crash test: a child process flushes in a loop and reports every acknowledged flush; we
 * kill -9 it at random moments (compactions happen every few flushes, so many kills land in
 * one), and after every kill the checkpoint must load with every acknowledged change in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleChild } from '../helpers/child.js';
import { crashLane, type LaneResult } from '../helpers/crash-lane.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const LANES = 3;
const KILLS_PER_LANE = 70; // 210 kills in all
const COMPACT_AFTER = 2048; // bytes of journal: a compaction every ~8 flushes

let bundle: string;
let bundleDir: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-crash-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

const lane = (index: number) =>
  crashLane({ bundle, index, kills: KILLS_PER_LANE, compactAfter: COMPACT_AFTER });

describe('crash safety under kill -9', () => {
  const results: LaneResult[] = [];
  afterAll(() => {
    const total = results.reduce(
      (sum, r) => ({
        kills: sum.kills + r.kills,
        tornTails: sum.tornTails + r.tornTails,
        cutCompactions: sum.cutCompactions + r.cutCompactions,
        acked: sum.acked + r.acked,
      }),
      { kills: 0, tornTails: 0, cutCompactions: 0, acked: 0 },
    );
    console.log(
      `crash test: ${total.kills} kills, ${total.acked} acknowledged flushes, ${total.tornTails} torn tails dropped, ${total.cutCompactions} kills inside a compaction`,
    );
  });

  it(`keeps every acknowledged flush across ${LANES * KILLS_PER_LANE} kills, compactions included`, async () => {
    results.push(...(await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)))));
    const kills = results.reduce((sum, r) => sum + r.kills, 0);
    expect(kills).toBeGreaterThanOrEqual(200);
    // The kills must have hit compactions too, or this test would prove less than it says.
    expect(results.reduce((sum, r) => sum + r.cutCompactions, 0)).toBeGreaterThan(0);
    // Every kill came after at least one acknowledged flush of its own.
    expect(results.reduce((sum, r) => sum + r.acked, 0)).toBeGreaterThanOrEqual(kills);
  }, 600_000);
});
