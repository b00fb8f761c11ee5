import { readdir, unlink } from 'node:fs/promises';
import { encodeJournalHeader } from '../format/journal.js';
import { JOURNAL_SUFFIX, SNAPSHOT_SUFFIX } from '../format/names.js';
import { encodeSnapshot } from '../format/snapshot.js';
import type { StoreContext } from './context.js';
import { type CheckpointPaths, parseRaw, readRaw } from './files.js';
import { keepPreviousGeneration } from './generations.js';
import { replaceFile } from './io.js';
import { writingTo } from './write-error.js';

/**
 * Folds a checkpoint's journal into a new snapshot (replaced atomically) and starts an empty
 * journal after it, keeping the pair it replaces as the previous generation (generations.ts).
 * Does nothing when the snapshot already holds everything.
 */
export async function compactNow(ctx: StoreContext, id: string): Promise<void> {
  const at = ctx.paths(id);
  await ctx.mayWrite(at, id);
  await ctx.writers.drop(id);
  const raw = await readRaw(at);
  const parsed = parseRaw(at, raw);
  if (!parsed) return;
  const journal = parsed.journal;
  const compact =
    journal !== null &&
    raw.snapshot !== null &&
    journal.batches.length === 0 &&
    journal.header.base === parsed.seq &&
    journal.tornTail === null;
  if (compact) return;
  const snapshot = encodeSnapshot(parsed.checkpoint, parsed.seq);
  await keepPreviousGeneration(at, ctx.dir, {
    snapshot: raw.snapshot !== null,
    journal: raw.journal !== null,
  });
  await writingTo(id, at.snapshot, () => replaceFile(at.snapshot, snapshot));
  const header = encodeJournalHeader(id, parsed.seq);
  await ctx.writers.startJournal(id, at, header, {
    seq: parsed.seq,
    headerLength: header.length,
    snapshotBytes: snapshot.length,
  });
  if (ctx.mine.get(at.lock)) await removeLeftovers(ctx.dir, at);
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
