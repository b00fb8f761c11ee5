/**
 * One lane of a crash test: a child process flushes in a loop and reports every acknowledged
 * flush; it is killed with kill -9 at random moments, and after every kill the checkpoint must
 * load with every acknowledged change in it (and at most the one flush cut before its ack).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseJournal } from '../../src/format/journal.js';
import { decodeSnapshot } from '../../src/format/snapshot.js';
import { checkpointFileName, journalFileName, readCheckpointFiles } from '../../src/index.js';
import { readOrNull } from '../../src/store/io.js';
import { killHard, startChild } from './child.js';
import { removeDir, tempDir } from './tmp.js';

export interface LaneResult {
  kills: number;
  tornTails: number;
  cutCompactions: number;
  acked: number;
}

export interface LaneOptions {
  /** The bundled child (see bundleChild). */
  bundle: string;
  index: number;
  kills: number;
  /** Journal bytes after which the child's store compacts. */
  compactAfter: number;
  /** The child's `compactInWorkerAbove` (0: every compaction in a worker thread). */
  compactInWorkerAbove?: number;
  /** At most this many acknowledged flushes (a random number) before a kill; default 12. */
  flushesPerKill?: number;
  /** Added to the child's environment. */
  env?: Record<string, string>;
}

/** Signs that a kill landed inside a compaction: a temp file left, or a journal the snapshot already covers. */
export async function compactionWasCut(dir: string, id: string): Promise<boolean> {
  const names = await readdir(dir);
  if (names.some((name) => /\.checkpoint\.jsonl?\.\d+$/.test(name))) return true;
  const snapshot = await readOrNull(join(dir, checkpointFileName(id)));
  const journal = await readOrNull(join(dir, journalFileName(id)));
  if (!snapshot || !journal) return false;
  const { seq } = decodeSnapshot(snapshot, 'snapshot');
  const parsed = parseJournal(journal, 'journal');
  return parsed.header.base < seq;
}

export async function crashLane(options: LaneOptions): Promise<LaneResult> {
  const { bundle, index, compactAfter, compactInWorkerAbove } = options;
  const dir = await tempDir('ck-crash-');
  const id = `crash:lane-${index}`;
  const result: LaneResult = { kills: 0, tornTails: 0, cutCompactions: 0, acked: 0 };
  const args = ['writer', dir, id, String(compactAfter)];
  if (compactInWorkerAbove !== undefined) args.push(String(compactInWorkerAbove));
  let lastAck = -1;
  let previous = 0; // flushes in the state after the previous kill
  try {
    for (let kill = 0; kill < options.kills; kill++) {
      const child = startChild(args, { bundle, ...(options.env && { env: options.env }) });
      const ready = Number((await child.waitFor((line) => line.startsWith('ready '))).slice(6));
      // The child resumes from exactly the state we loaded after the previous kill.
      expect(ready).toBe(previous);
      // Kill at a random moment, but only after a random number of acknowledged flushes (at
      // least one): counting flushes instead of milliseconds keeps the test meaningful on a
      // slow or loaded machine, where a timer may fire before the child has flushed at all.
      const target = previous + Math.floor(Math.random() * (options.flushesPerKill ?? 12));
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
