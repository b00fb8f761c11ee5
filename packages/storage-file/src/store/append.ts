import { type FileHandle, open } from 'node:fs/promises';
import { type Change, CheckpointError } from '@checkpointkit/core';
import { encodeBatch, encodeJournalHeader } from '../format/journal.js';
import { TORN_INFIX } from '../format/names.js';
import { compactNow } from './compact.js';
import type { StoreContext } from './context.js';
import { readOrNull, writeAll } from './io.js';
import { leftoverError } from './leftovers.js';
import { asWriteError } from './write-error.js';
import { SYNCED_WRITES, type Writer } from './writer.js';

const DEFAULT_COMPACT_FLOOR = 1024 * 1024;
const NEWLINE = Buffer.from('\n');

/** Copies the torn tail [from, to) of a journal to `<journal>.torn-<time>` before it is cut. */
async function keepTornTail(handle: FileHandle, journal: string, from: number, to: number) {
  const bytes = Buffer.alloc(to - from);
  await handle.read(bytes, 0, bytes.length, from);
  const aside = `${journal}${TORN_INFIX}${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const copy = await open(aside, 'wx');
  try {
    await writeAll(copy, bytes, null);
    await copy.datasync();
  } finally {
    await copy.close();
  }
}

function threshold(ctx: StoreContext, writer: Writer): number {
  return ctx.compactAfter ?? Math.max(DEFAULT_COMPACT_FLOOR, Math.floor(writer.snapshotBytes / 4));
}

/**
 * Appends one batch of (validated) changes to a checkpoint's journal and fdatasyncs it, starting
 * the journal when needed; schedules a compaction when the journal has grown past the threshold.
 */
export async function appendNow(ctx: StoreContext, id: string, changes: Change[]): Promise<void> {
  const { writers } = ctx;
  const at = ctx.paths(id);
  await ctx.mayWrite(at, id);
  let writer = await writers.current(id, at);
  if (!writer?.exists) {
    if (changes[0]?.type !== 'created') {
      throw new CheckpointError(
        `checkpoint "${id}" does not exist in ${ctx.dir}; its log must start with "created", not "${changes[0]?.type}"`,
      );
    }
    if (!writer) {
      // Not loaded first (a store used directly): refuse as load does.
      const leftover = await leftoverError(at, await readOrNull(at.ack));
      if (leftover) throw leftover;
    }
    const header = encodeJournalHeader(id, writer?.seq ?? 0);
    const seq = (writer?.seq ?? 0) + 1;
    await writers.startJournal(id, at, Buffer.concat([header, encodeBatch(changes, seq)]), {
      seq,
      headerLength: header.length,
      snapshotBytes: writer?.snapshotBytes ?? 0,
    });
    await writers.acknowledge(id, at, seq);
    return;
  }
  if (writer.needsJournal) {
    const header = encodeJournalHeader(id, writer.seq);
    writer = await writers.startJournal(id, at, header, {
      seq: writer.seq,
      headerLength: header.length,
      snapshotBytes: writer.snapshotBytes,
    });
  }
  if (!writer.handle) {
    writer.handle = await writers.openHandle(at, writer);
    if (!writer.handle) {
      // The journal changed between reading and opening it: read it again.
      await writers.drop(id);
      return appendNow(ctx, id, changes);
    }
  }
  const handle = writer.handle;
  // A last batch whose final newline a cut took: the newline goes first, the batch stays.
  const encoded = encodeBatch(changes, writer.seq + 1);
  const batch = writer.unterminated ? Buffer.concat([NEWLINE, encoded]) : encoded;
  try {
    if (writer.size > writer.validLength) {
      // A torn tail left by a crash: kept aside, then cut, so the next batch follows the last
      // good one.
      await keepTornTail(handle, at.journal, writer.validLength, writer.size);
      await handle.truncate(writer.validLength);
      await handle.datasync();
      writer.size = writer.validLength;
    }
    await writeAll(handle, batch, null);
    if (!SYNCED_WRITES) await handle.datasync();
  } catch (error) {
    // Not acknowledged: take back what may have been written, and re-read the journal next time.
    ctx.journalEpochs.set(id, (ctx.journalEpochs.get(id) ?? 0) + 1);
    await handle.truncate(writer.validLength).catch(() => {});
    await writers.drop(id);
    throw asWriteError(id, at.journal, error);
  }
  // A takeover while this process was stopped between its check and its write fenced the journal
  // off (fence.ts): the batch may have gone to a file no name leads to. Not acknowledged, then;
  // nor cut back, since the journal is the new holder's.
  if (ctx.mine.has(at.lock)) {
    await ctx.mayWrite(at, id).catch(async (error: unknown) => {
      await writers.drop(id);
      throw error;
    });
  }
  writer.seq += 1;
  writer.validLength += batch.length;
  writer.size = writer.validLength;
  writer.unterminated = false;
  await writers.acknowledge(id, at, writer.seq);
  const grown = writer.size - writer.headerLength;
  const limit = threshold(ctx, writer);
  // One compaction at a time: appends made while one runs do not ask again (nor warn again).
  const due = grown >= limit && grown >= (ctx.compactRetryAt.get(id) ?? 0);
  if (due && !ctx.compactions.has(id)) {
    void compactNow(ctx, id)
      .then(() => ctx.compactRetryAt.delete(id))
      .catch((error: unknown) => {
        // Try again once the journal has grown by another threshold.
        ctx.compactRetryAt.set(id, grown + limit);
        ctx.warn({
          code: 'compaction-failed',
          message: `compaction of checkpoint "${id}" failed (the journal keeps every change): ${(error as Error).message}`,
          checkpointId: id,
          file: at.snapshot,
        });
      });
  }
}
