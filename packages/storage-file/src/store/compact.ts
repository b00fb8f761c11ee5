import { open, readdir, stat, unlink } from 'node:fs/promises';
import { encodeJournalHeader } from '../format/journal.js';
import { JOURNAL_SUFFIX, SNAPSHOT_SUFFIX } from '../format/names.js';
import { type PreparedCompaction, prepareCompaction } from './compact-prepare.js';
import { prepareInWorker } from './compact-thread.js';
import type { StoreContext } from './context.js';
import type { CheckpointPaths } from './files.js';
import { keepPreviousGeneration } from './generations.js';
import { commitTempFile } from './io.js';
import { writingTo } from './write-error.js';

/**
 * Folds a checkpoint's journal into a new snapshot (replaced atomically) and starts a journal
 * after it, keeping the pair it replaces as the previous generation (generations.ts). Does
 * nothing when the snapshot already holds everything. One compaction of a checkpoint at a time:
 * a second call shares the running one.
 *
 * The expensive part (read, replay, encode, write the temp snapshot) runs outside the
 * checkpoint's queue, in a worker thread from `compactInWorkerAbove` bytes, so appends go on
 * meanwhile; the switch-over runs in the queue and carries the batches appended since into the
 * new journal. A switch that finds the journal changed otherwise (a failed append, a repair)
 * throws the prepared snapshot away and tries again; the last try runs wholly in the queue.
 */
export function compactNow(ctx: StoreContext, id: string): Promise<void> {
  const running = ctx.compactions.get(id);
  if (running) return running;
  const task = compactWithRetries(ctx, id).finally(() => ctx.compactions.delete(id));
  ctx.compactions.set(id, task);
  return task;
}

const CONCURRENT_TRIES = 3;

async function compactWithRetries(ctx: StoreContext, id: string): Promise<void> {
  const at = ctx.paths(id);
  try {
    for (let attempt = 0; attempt < CONCURRENT_TRIES; attempt++) {
      await ctx.serialize(id, () => ctx.mayWrite(at, id));
      const epoch = ctx.journalEpochs.get(id) ?? 0;
      const prepared = await prepare(ctx, at);
      if (!prepared) return;
      if (
        await withTemp(prepared, () =>
          ctx.serialize(id, () => switchOver(ctx, id, at, prepared, epoch)),
        )
      )
        return;
    }
    // Appends kept changing the journal under it: compact with the queue held.
    await ctx.serialize(id, async () => {
      const epoch = ctx.journalEpochs.get(id) ?? 0;
      const prepared = await prepare(ctx, at);
      if (prepared) await withTemp(prepared, () => switchOver(ctx, id, at, prepared, epoch));
    });
  } finally {
    // A temp snapshot that nothing renamed (a prepare cut short, a process that dies next) must
    // not outlive the compaction: under our lock, any such file of this checkpoint is ours. In
    // the queue, where no append is writing a journal's temp file.
    if (ctx.mine.get(at.lock)) {
      await ctx.serialize(id, () => removeLeftovers(ctx.dir, at)).catch(() => {});
    }
  }
}

/** Runs `work` with a prepared temp snapshot, and removes the temp unless `work` renamed it. */
async function withTemp<T>(prepared: PreparedCompaction, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await unlink(prepared.temp).catch(() => {}); // ENOENT once renamed into place
  }
}

/** The new snapshot in a temp file: in a worker thread for large files, else on this thread. */
async function prepare(ctx: StoreContext, at: CheckpointPaths): Promise<PreparedCompaction | null> {
  const large = (await filesSize(at)) >= ctx.compactInWorkerAbove;
  const prepared = large ? await prepareInWorker(at) : undefined;
  // No worker, or it failed: here, where a failure is reported with the store's typed errors.
  return prepared === undefined ? prepareCompaction(at) : prepared;
}

/**
 * In the checkpoint's queue: makes the prepared snapshot the snapshot, and starts a journal that
 * continues it with the batches appended since it was prepared. False (nothing changed) when the
 * journal is no longer the one it was prepared from, grown only by appends.
 */
async function switchOver(
  ctx: StoreContext,
  id: string,
  at: CheckpointPaths,
  prepared: PreparedCompaction,
  epoch: number,
): Promise<boolean> {
  await ctx.mayWrite(at, id);
  if ((ctx.journalEpochs.get(id) ?? 0) !== epoch) return false;
  const writer = await ctx.writers.current(id, at);
  const from = prepared.journal;
  let tail: Buffer = Buffer.alloc(0);
  if (from) {
    if (!writer || writer.dev !== from.dev || writer.ino !== from.ino) return false;
    if (writer.validLength < from.end) return false;
    const appended = writer.validLength > from.end;
    if (writer.unterminated && (appended || !from.unterminated)) return false;
    // The newline an append wrote first after an unterminated batch belongs to that batch, which
    // the snapshot holds: carried along, it would be an empty line in the new journal.
    const start = from.unterminated && appended ? from.end + 1 : from.end;
    tail = await readRange(at.journal, start, writer.validLength);
  } else if (writer && writer.ino !== 0) {
    return false; // a journal was started since: prepare again from it
  }
  // Again right before the renames, which no fence stops (fence.ts): the reads above may have
  // let a takeover happen.
  await ctx.mayWrite(at, id);
  await keepPreviousGeneration(at, ctx.dir, {
    snapshot: prepared.hadSnapshot,
    journal: prepared.hadJournal,
  });
  await writingTo(id, at.snapshot, () => commitTempFile(prepared.temp, at.snapshot));
  const header = encodeJournalHeader(id, prepared.seq);
  await ctx.mayWrite(at, id);
  await ctx.writers.startJournal(id, at, Buffer.concat([header, tail]), {
    seq: writer && from ? writer.seq : prepared.seq,
    headerLength: header.length,
    snapshotBytes: prepared.bytes,
  });
  return true;
}

/** Bytes [from, to) of a file. */
async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  const bytes = Buffer.alloc(to - from);
  if (bytes.length === 0) return bytes;
  const handle = await open(path, 'r');
  try {
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await handle.read(bytes, read, bytes.length - read, from + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } finally {
    await handle.close();
  }
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
