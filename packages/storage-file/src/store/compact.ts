import { readdir, stat, unlink } from 'node:fs/promises';
import { encodeJournalHeader } from '../format/journal.js';
import { JOURNAL_SUFFIX, SNAPSHOT_SUFFIX } from '../format/names.js';
import { prepareCompaction } from './compact-prepare.js';
import { prepareInWorker } from './compact-thread.js';
import type { StoreContext } from './context.js';
import type { CheckpointPaths } from './files.js';
import { keepPreviousGeneration } from './generations.js';
import { commitTempFile } from './io.js';
import { writingTo } from './write-error.js';

/**
 * Folds a checkpoint's journal into a new snapshot (replaced atomically) and starts an empty
 * journal after it, keeping the pair it replaces as the previous generation (generations.ts).
 * Does nothing when the snapshot already holds everything. Files of `compactInWorkerAbove`
 * bytes or more are read and encoded in a worker thread, so the job's event loop goes on.
 */
export async function compactNow(ctx: StoreContext, id: string): Promise<void> {
  const at = ctx.paths(id);
  await ctx.mayWrite(at, id);
  await ctx.writers.drop(id);
  const large = (await filesSize(at)) >= ctx.compactInWorkerAbove;
  let prepared = large ? await prepareInWorker(at) : undefined;
  // No worker, or it failed: here, where a failure is reported with the store's typed errors.
  if (prepared === undefined) prepared = await prepareCompaction(at);
  if (!prepared) return;
  const { temp } = prepared;
  await keepPreviousGeneration(at, ctx.dir, {
    snapshot: prepared.hadSnapshot,
    journal: prepared.hadJournal,
  }).catch(async (error: unknown) => {
    await unlink(temp).catch(() => {});
    throw error;
  });
  await writingTo(id, at.snapshot, () => commitTempFile(temp, at.snapshot));
  const header = encodeJournalHeader(id, prepared.seq);
  await ctx.writers.startJournal(id, at, header, {
    seq: prepared.seq,
    headerLength: header.length,
    snapshotBytes: prepared.bytes,
  });
  if (ctx.mine.get(at.lock)) await removeLeftovers(ctx.dir, at);
}

/** Bytes of the snapshot and the journal: what a compaction reads, and about what it writes. */
async function filesSize(at: CheckpointPaths): Promise<number> {
  let total = 0;
  for (const file of [at.snapshot, at.journal]) {
    total += await stat(file).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

/** Temp files `replaceFile` left behind when a process was killed mid-write. */
async function removeLeftovers(dir: string, at: CheckpointPaths): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const prefixes = [at.stem + SNAPSHOT_SUFFIX, at.stem + JOURNAL_SUFFIX].map((p) => `${p}.`);
  for (const name of names) {
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (prefix && /^\d+$/.test(name.slice(prefix.length)))
      await unlink(`${dir}/${name}`).catch(() => {});
  }
}
