/**
 * Appends are durable when they resolve because the journal is written with O_DSYNC (one system
 * call per flush, no separate fdatasync). A power cut cannot be staged here, so this checks the
 * mode itself, on the open descriptor, as the kernel reports it (Linux's /proc/self/fdinfo).
 */
import { constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseJournal } from '../../src/format/journal.js';
import { ACK_SUFFIX, SNAPSHOT_SUFFIX } from '../../src/format/names.js';
import { decodeAck } from '../../src/format/parse.js';
import { checkpointFileName, fileStore, journalFileName } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

/** The open flags of each descriptor this process holds on `path` for writing. */
function flagsOf(path: string): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed since the listing
    }
    if (target !== path) continue;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const octal = /^flags:\s+([0-7]+)$/m.exec(info)?.[1];
    const value = octal ? Number.parseInt(octal, 8) : constants.O_RDONLY;
    // Readers (a load, a compaction reading the journal) open it read-only: not ours to check.
    if ((value & 3) !== constants.O_RDONLY) flags.push(value);
  }
  return flags;
}

describe.runIf(process.platform === 'linux')('synced journal writes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('synced-');
  });
  afterEach(() => removeDir(dir));

  it('keeps the journal open for appends with O_DSYNC, also after a compaction starts a new one', async () => {
    const store = fileStore({ dir, compactAfter: 512 });
    const run = await openRun({ id: 'job', store, signals: false });
    await run.plan(['a', 'b']);
    const journal = join(dir, journalFileName('job'));
    let checked = 0;
    for (let page = 1; page <= 40; page++) {
      await run.progress('a', { cursor: page, items: 1 });
      await run.flush();
      const flags = flagsOf(journal);
      // A compaction may have just replaced the journal; the next append opens it again.
      if (flags.length === 0) continue;
      checked += flags.length;
      for (const f of flags) {
        expect(f & constants.O_DSYNC).toBe(constants.O_DSYNC);
        expect(f & constants.O_APPEND).toBe(constants.O_APPEND);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(run.unit('a')?.cursor).toBe(40);
    await run.close();
    await store.close();
    expect(flagsOf(journal)).toEqual([]);
  });

  it('writes the ack mark behind the flushes, never backwards, and has the last one on close', async () => {
    const store = fileStore({ dir });
    const run = await openRun({ id: 'acks', store, signals: false });
    await run.plan(['a']);
    const ack = join(dir, checkpointFileName('acks').replace(SNAPSHOT_SUFFIX, ACK_SUFFIX));
    let last = 0;
    // Flushes that do not wait for each other: the mark's writes overlap.
    await Promise.all(
      Array.from({ length: 50 }, async (_, page) => {
        await run.progress('a', { cursor: page, items: 1 });
        await run.flush();
        const seen = decodeAck(readFileSync(ack)) ?? 0;
        expect(seen).toBeGreaterThanOrEqual(last);
        last = seen;
      }),
    );
    await run.close();
    await store.close();
    const { batches } = parseJournal(readFileSync(join(dir, journalFileName('acks'))), 'journal');
    expect(decodeAck(readFileSync(ack))).toBe(batches.at(-1)?.seq);
  });
});
