/**
 * summarizeCheckpointFiles against the reader it must agree with: for checkpoints written by the
 * store from random change logs (compacted at random points, restarted with `created`, keys such
 * as `__proto__`, `toString` and `17`), the summary must equal `summarize()` of what
 * parseCheckpointFiles reads from the same bytes. A snapshot crafted with a key twice (the crc32
 * cannot tell: it was written so) is refused by both alike.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Change, emptyCheckpoint, emptyUnit, summarize } from '@checkpointkit/core';
import { prng } from '@checkpointkit/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32Hex } from '../../src/format/checksum.js';
import {
  CheckpointFileError,
  checkpointFileName,
  checkpointFilesOf,
  encodeSnapshot,
  fileStore,
  journalFileName,
  parseCheckpointFiles,
  summarizeCheckpointFiles,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const KEYS = ['a', 'a/b', 'a/b/c', '__proto__', 'toString', 'constructor', '17', '0', 'ü/ß', 'x y'];

function randomChange(next: () => number, id: string, step: number): Change {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  const int = (max: number) => Math.floor(next() * max);
  const at = new Date(Date.UTC(2026, 0, 1) + step * 1000).toISOString();
  const key = pick(KEYS);
  const roll = next();
  if (roll < 0.005) return { type: 'created', at, id, configDigest: null };
  if (roll < 0.2) return { type: 'unit.planned', at, key, ...(next() < 0.5 && { total: int(50) }) };
  if (roll < 0.3) return { type: 'unit.started', at, key };
  if (roll < 0.45)
    return {
      type: 'unit.progressed',
      at,
      key,
      cursor: { page: int(9) },
      done: int(40),
      ...(next() < 0.3 && { total: next() < 0.2 ? null : int(60) }),
    };
  if (roll < 0.55)
    return { type: 'unit.completed', at, key, ...(next() < 0.5 && { done: int(40) }) };
  if (roll < 0.63)
    return {
      type: 'unit.failed',
      at,
      key,
      message: `boom ${step}`,
      retryable: next() < 0.5,
      ...(next() < 0.5 && { cause: { status: 500 + int(4) } }),
    };
  if (roll < 0.7) return { type: 'unit.reset', at, key, keepCursor: next() < 0.5 };
  if (roll < 0.76) return { type: 'unit.removed', at, key };
  if (roll < 0.84)
    return {
      type: 'id.mapped',
      map: pick(['users', 'toString']),
      source: `s${int(30)}`,
      target: int(99),
    };
  if (roll < 0.9) return { type: 'counter.added', name: pick(['pages', '__proto__']), by: int(5) };
  if (roll < 0.94) return { type: 'meta.set', key: 'plannedUnits', value: int(15) };
  if (roll < 0.97)
    return { type: 'status', at, status: pick(['running', 'interrupted', 'failed'] as const) };
  return { type: 'saved', at, reason: `save ${step}` };
}

async function filesOf(dir: string, id: string) {
  const read = (name: string) => readFile(join(dir, name)).catch(() => null);
  return {
    snapshot: await read(checkpointFileName(id)),
    journal: await read(journalFileName(id)),
    ack: await read(checkpointFilesOf(checkpointFileName(id))!.ack),
    file: checkpointFileName(id),
  };
}

describe('summarizeCheckpointFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('ck-summary-');
  });
  afterAll(() => removeDir(dir));

  it('equals summarize() of the checkpoint parseCheckpointFiles reads, for 200 random logs compacted at random points', async () => {
    let withJournal = 0;
    let restarted = 0;
    for (let round = 0; round < 200; round++) {
      const next = prng(round + 1);
      const id = `random:${round}`;
      const store = fileStore({ dir, onWarning: () => {} });
      const log: Change[] = [
        { type: 'created', at: '2026-01-01T00:00:00.000Z', id, configDigest: null },
      ];
      for (let step = 1; step < 10 + Math.floor(next() * 120); step++)
        log.push(randomChange(next, id, step));
      let at = 0;
      while (at < log.length) {
        const size = 1 + Math.floor(next() * 20);
        await store.append(id, log.slice(at, at + size));
        at += size;
        if (next() < 0.3) await store.compact(id);
      }
      await store.close();
      const files = await filesOf(dir, id);
      const parsed = parseCheckpointFiles(files);
      const summarized = summarizeCheckpointFiles(files);
      const context = `round ${round}`;
      expect(summarized.summary, context).toEqual(summarize(parsed.checkpoint));
      expect(summarized.journalChanges, context).toBe(parsed.journalChanges);
      expect(summarized.tornTail, context).toEqual(parsed.tornTail);
      expect(summarized.lost, context).toEqual(parsed.lost);
      if (parsed.journalChanges > 0) withJournal += 1;
      if (log.slice(1).some((change) => change.type === 'created')) restarted += 1;
    }
    // The paths the summary takes were all walked: columns alone, columns and a journal, a restart.
    expect(withJournal).toBeGreaterThan(50);
    expect(withJournal).toBeLessThan(200);
    expect(restarted).toBeGreaterThan(5);
  });

  it('refuses a snapshot that holds a key twice, as reading it does', () => {
    const checkpoint = emptyCheckpoint('twice', '2026-01-01T00:00:00.000Z', null);
    checkpoint.units = {
      a: { ...emptyUnit(), status: 'complete', attempts: 1, done: 1 },
      b: emptyUnit(),
    };
    const snapshot = encodeSnapshot(checkpoint, 0);
    // Rename `b` to `a` and seal the body again: a file written so, not damaged on the way.
    const text = snapshot.toString('utf8');
    const start = text.indexOf('\n') + 1;
    const end = text.length - '\n}\n'.length;
    const body = Buffer.from(
      text.slice(start, end).replace('"keys":["a","b"]', '"keys":["a","a"]'),
    );
    const header = JSON.stringify({
      format: 'checkpointkit/1',
      snapshot: 1,
      bytes: body.length,
      crc32: crc32Hex(body),
      data: null,
    });
    const crafted = Buffer.concat([
      Buffer.from(`${header.slice(0, -'null}'.length)}\n`),
      body,
      Buffer.from('\n}\n'),
    ]);
    const input = { snapshot: crafted, journal: null, file: 'twice.checkpoint.json' };
    for (const read of [() => parseCheckpointFiles(input), () => summarizeCheckpointFiles(input)]) {
      expect(read).toThrow(CheckpointFileError);
      expect(read).toThrow(
        'twice.checkpoint.json:2: bad snapshot body: units.keys[1] repeats the key "a"',
      );
    }
  });
});
