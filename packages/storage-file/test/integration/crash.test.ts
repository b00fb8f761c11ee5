/**
 * The crash test: a child process flushes in a loop and reports every acknowledged flush; we
 * kill -9 it at random moments (compactions happen every few flushes, so many kills land in
 * one), and after every kill the checkpoint must load with every acknowledged change in it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJournal } from '../../src/format/journal.js';
import { decodeSnapshot } from '../../src/format/snapshot.js';
import { checkpointFileName, journalFileName, readCheckpointFiles } from '../../src/index.js';
import { readOrNull } from '../../src/store/io.js';
import { bundleChild, killHard, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const LANES = 3;
const KILLS_PER_LANE = 70; // 210 kills in all
const COMPACT_AFTER = 2048; // bytes of journal: a compaction every ~8 flushes

interface LaneResult {
  kills: number;
  tornTails: number;
  cutCompactions: number;
  acked: number;
}

/** Signs that a kill landed inside a compaction: a temp file left, or a journal the snapshot already covers. */
async function compactionWasCut(dir: string, id: string): Promise<boolean> {
  const names = await readdir(dir);
  if (names.some((name) => /\.checkpoint\.jsonl?\.\d+$/.test(name))) return true;
  const snapshot = await readOrNull(join(dir, checkpointFileName(id)));
  const journal = await readOrNull(join(dir, journalFileName(id)));
  if (!snapshot || !journal) return false;
  const { seq } = decodeSnapshot(snapshot, 'snapshot');
  const parsed = parseJournal(journal, 'journal');
  return parsed.header.base < seq;
}

let bundle: string;
let bundleDir: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-crash-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

async function lane(index: number): Promise<LaneResult> {
  const dir = await tempDir('ck-crash-');
  const id = `crash:lane-${index}`;
  const result: LaneResult = { kills: 0, tornTails: 0, cutCompactions: 0, acked: 0 };
  let lastAck = -1;
  let previous = 0; // flushes in the state after the previous kill
  try {
    for (let kill = 0; kill < KILLS_PER_LANE; kill++) {
      const child = startChild(['writer', dir, id, String(COMPACT_AFTER)], { bundle });
      const ready = Number((await child.waitFor((line) => line.startsWith('ready '))).slice(6));
      // The child resumes from exactly the state we loaded after the previous kill.
      expect(ready).toBe(previous);
      // Kill at a random moment, but only after a random number of acknowledged flushes (at
      // least one): counting flushes instead of milliseconds keeps the test meaningful on a
      // slow or loaded machine, where a timer may fire before the child has flushed at all.
      const target = previous + Math.floor(Math.random() * 12);
      await child.waitFor((line) => line.startsWith('ack ') && Number(line.slice(4)) >= target);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
      await killHard(child);
      result.kills += 1;
      for (const line of child.lines) {
        if (line.startsWith('ack ')) lastAck = Math.max(lastAck, Number(line.slice(4)));
      }

      if (await compactionWasCut(dir, id)) result.cutCompactions += 1;
      const parsed = await readCheckpointFiles(dir, id);
      expect(parsed, `kill ${kill} of lane ${index}`).not.toBeNull();
      if (parsed!.tornTail) result.tornTails += 1;
      const checkpoint = parsed!.checkpoint;
      const n = checkpoint.stats['n'] ?? 0;
      const mapped = checkpoint.idMaps['m'] ?? {};
      // Every acknowledged flush is in, and at most the one flush that was cut before its ack.
      const floor = Math.max(lastAck + 1, previous);
      expect(n).toBeGreaterThanOrEqual(floor);
      expect(n).toBeLessThanOrEqual(floor + 1);
      previous = n;
      // A flush is all-or-nothing: its counter and its id mapping came together.
      expect(Object.keys(mapped)).toHaveLength(n);
      for (let i = 0; i < n; i++) expect(mapped[`s${i}`]).toBe(i);
      result.acked = lastAck + 1;
    }
  } finally {
    await removeDir(dir);
  }
  return result;
}

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
