/**
 * kill -9 while compactions run in a worker thread: there the new snapshot is prepared beside
 * the appends, which go on meanwhile and are carried into the new journal at the switch-over. A
 * kill may land anywhere in that (the worker reading, encoding or writing its temp file; the
 * previous generation being linked; the snapshot renamed in before the journal is replaced).
 * After every kill, every acknowledged flush must be in the checkpoint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleChild } from '../helpers/child.js';
import { crashLane, type LaneResult } from '../helpers/crash-lane.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const LANES = 2;
const KILLS_PER_LANE = 40;
const COMPACT_AFTER = 2048; // bytes of journal: a compaction every ~8 flushes
// A worker takes a while to start, while flushes go on: a child must live long enough for its
// compactions to reach the files.
const FLUSHES_PER_KILL = 600;

let bundle: string;
let bundleDir: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-worker-crash-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

describe('crash safety under kill -9, compactions in a worker thread', () => {
  it(`keeps every acknowledged flush across ${LANES * KILLS_PER_LANE} kills`, async () => {
    const mark = join(bundleDir, 'worker-mark.txt');
    const results: LaneResult[] = await Promise.all(
      Array.from({ length: LANES }, (_, index) =>
        crashLane({
          bundle,
          index,
          kills: KILLS_PER_LANE,
          compactAfter: COMPACT_AFTER,
          compactInWorkerAbove: 0,
          flushesPerKill: FLUSHES_PER_KILL,
          env: { WORKER_MARK: mark },
        }),
      ),
    );
    const total = (key: keyof LaneResult) => results.reduce((sum, r) => sum + r[key], 0);
    const prepared = (await readFile(mark, 'utf8').catch(() => '')).split('\n').length - 1;
    console.log(
      `worker crash test: ${total('kills')} kills, ${total('acked')} acknowledged flushes, ${prepared} compactions prepared in a worker, ${total('cutCompactions')} kills inside a compaction`,
    );
    expect(total('kills')).toBe(LANES * KILLS_PER_LANE);
    // The compactions ran in worker threads (not on the fallback path), and kills hit them.
    expect(prepared).toBeGreaterThan(0);
    expect(total('cutCompactions')).toBeGreaterThan(0);
    expect(total('acked')).toBeGreaterThanOrEqual(total('kills'));
  });
});
