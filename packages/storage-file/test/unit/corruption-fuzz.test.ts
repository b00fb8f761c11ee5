/**
 * Damaged files: more than a thousand mutated or truncated snapshots and journals. Each one must
 * give a typed error naming the damaged file, through every way in (the pure parser, load,
 * append, compact, the unlocked reader), and leave the bytes on disk exactly as they were.
 * Truncating the journal is what a crash does, so it is checked apart: never an error, always
 * an acknowledged state.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { CheckpointFormatError, replay, summarize } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  encodeAck,
  fileStore,
  parseCheckpointFiles,
  readCheckpointFiles,
  summarizeCheckpointFiles,
} from '../../src/index.js';
import { random, writeSample } from '../helpers/fixture.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

type Mutation = { name: string; bytes: Buffer };

function mutate(source: Buffer, next: () => number, options: { keepLastByte: boolean }): Mutation {
  const limit = options.keepLastByte ? source.length - 1 : source.length; // positions we may touch
  const at = (max = limit) => Math.floor(next() * max);
  const noise = (n: number) =>
    Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
  const kinds = options.keepLastByte
    ? ['flip', 'delete', 'insert', 'duplicate', 'swap']
    : ['flip', 'truncate', 'delete', 'insert', 'duplicate', 'swap'];
  const kind = kinds[Math.floor(next() * kinds.length)]!;
  switch (kind) {
    case 'flip': {
      const pos = at();
      const bytes = Buffer.from(source);
      bytes[pos] = bytes[pos]! ^ (1 + Math.floor(next() * 255));
      return { name: `flip byte ${pos}`, bytes };
    }
    case 'truncate': {
      const length = at(source.length);
      return { name: `truncate to ${length}`, bytes: source.subarray(0, length) };
    }
    case 'delete': {
      const pos = at();
      const length = Math.min(1 + Math.floor(next() * 16), limit - pos);
      return {
        name: `delete ${length} at ${pos}`,
        bytes: Buffer.concat([source.subarray(0, pos), source.subarray(pos + length)]),
      };
    }
    case 'insert': {
      const pos = at();
      const extra = next() < 0.3 ? Buffer.from('\n') : noise(1 + Math.floor(next() * 8));
      return {
        name: `insert ${extra.length} at ${pos}`,
        bytes: Buffer.concat([source.subarray(0, pos), extra, source.subarray(pos)]),
      };
    }
    case 'duplicate': {
      const pos = at();
      const length = Math.min(1 + Math.floor(next() * 200), limit - pos);
      const into = at();
      const copy = source.subarray(pos, pos + length);
      return {
        name: `copy ${length} from ${pos} to ${into}`,
        bytes: Buffer.concat([source.subarray(0, into), copy, source.subarray(into)]),
      };
    }
    default: {
      // Swap two different bytes: keeps the length, so only checksums can tell.
      let a = at();
      let b = at();
      for (let tries = 0; source[a] === source[b] && tries < 100; tries++) {
        a = at();
        b = at();
      }
      const bytes = Buffer.from(source);
      bytes[a] = source[b]!;
      bytes[b] = source[a]!;
      return { name: `swap bytes ${a} and ${b}`, bytes };
    }
  }
}

describe('damaged checkpoint files', () => {
  let dir: string;
  let sample: Awaited<ReturnType<typeof writeSample>>;
  const id = 'fuzz:job/1';

  beforeAll(async () => {
    dir = await tempDir('ck-fuzz-');
    sample = await writeSample(dir, id);
  });
  afterAll(() => removeDir(dir));

  /** Every way in must refuse with a typed error naming `file`, and leave both files as they were. */
  async function expectRefused(
    files: { snapshot: Buffer; journal: Buffer },
    file: string,
    what: string,
  ) {
    await writeFile(sample.snapshotPath, files.snapshot);
    await writeFile(sample.journalPath, files.journal);
    const before = await readdir(dir);

    let pure: unknown;
    try {
      parseCheckpointFiles({
        snapshot: files.snapshot,
        journal: files.journal,
        file: sample.snapshotPath,
      });
    } catch (error) {
      pure = error;
    }
    expect(pure, what).toBeInstanceOf(CheckpointFileError);
    expect(pure, what).toBeInstanceOf(CheckpointFormatError);
    expect((pure as CheckpointFileError).file, what).toBe(file);
    expect((pure as Error).message, what).toContain(file);
    // A summary of the same bytes (what a tree of many checkpoints shows) refuses them alike.
    expect(
      () =>
        summarizeCheckpointFiles({
          snapshot: files.snapshot,
          journal: files.journal,
          file: sample.snapshotPath,
        }),
      what,
    ).toThrow((pure as Error).message);

    const store = fileStore({ dir, onWarning: () => {} });
    const at = '2026-03-01T00:00:00.000Z';
    const attempts = [
      () => store.load(id),
      () => store.append(id, [{ type: 'unit.started', at, key: 'collect/acme/api/issues' }]),
      () => store.compact(id),
      () => readCheckpointFiles(dir, id),
    ];
    for (const attempt of attempts) {
      const error = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(CheckpointFileError);
      expect((error as CheckpointFileError).file, what).toBe(file);
    }
    await store.close();
    expect(
      (await readFile(sample.snapshotPath)).equals(files.snapshot),
      `${what}: snapshot bytes kept`,
    ).toBe(true);
    expect(
      (await readFile(sample.journalPath)).equals(files.journal),
      `${what}: journal bytes kept`,
    ).toBe(true);
    expect(await readdir(dir), what).toEqual(before);
  }

  it('refuses 700 damaged snapshots with a typed error and keeps their bytes', async () => {
    const next = random(1);
    for (let i = 0; i < 700; i++) {
      const mutation = mutate(sample.snapshot, next, { keepLastByte: false });
      if (mutation.bytes.equals(sample.snapshot)) continue;
      await expectRefused(
        { snapshot: mutation.bytes, journal: sample.journal },
        sample.snapshotPath,
        `snapshot #${i}: ${mutation.name}`,
      );
    }
  }, 120_000);

  it('refuses 700 damaged journals with a typed error and keeps their bytes', async () => {
    const next = random(2);
    for (let i = 0; i < 700; i++) {
      const mutation = mutate(sample.journal, next, { keepLastByte: true });
      if (mutation.bytes.equals(sample.journal)) continue;
      await expectRefused(
        { snapshot: sample.snapshot, journal: mutation.bytes },
        sample.journalPath,
        `journal #${i}: ${mutation.name}`,
      );
    }
  }, 120_000);

  it('names an unknown format version as such', async () => {
    const newer = Buffer.from(
      sample.snapshot.toString('utf8').replace('"snapshot":1', '"snapshot":2'),
    );
    await expectRefused(
      { snapshot: newer, journal: sample.journal },
      sample.snapshotPath,
      'snapshot version 2',
    );
    const tag = Buffer.from(
      sample.journal.toString('utf8').replace('checkpointkit/1', 'checkpointkit/2'),
    );
    await expectRefused(
      { snapshot: sample.snapshot, journal: tag },
      sample.journalPath,
      'format checkpointkit/2',
    );
    for (const bytes of [newer]) {
      try {
        parseCheckpointFiles({ snapshot: bytes, journal: null, file: 'x.checkpoint.json' });
      } catch (error) {
        expect((error as CheckpointFileError).kind).toBe('version');
        expect((error as Error).message).toMatch(
          /x\.checkpoint\.json:1: unknown snapshot encoding version 2/,
        );
      }
    }
  });

  it('reads every cut of the journal as an acknowledged state, never as an error', async () => {
    const states = new Set<string>();
    // Acknowledged states: the snapshot's, then one more per batch.
    const acknowledged = [8, 12, 16, sample.log.length].map((n) =>
      JSON.stringify(replay(null, sample.log.slice(0, n))),
    );
    const lines = sample.journal.toString('utf8').split('\n').slice(0, -1);
    const boundaries: number[] = [];
    let offset = 0;
    lines.forEach((line, index) => {
      offset += Buffer.byteLength(line) + 1;
      if (index === 0 || line.startsWith('{"commit":')) boundaries.push(offset);
    });
    for (let length = 0; length <= sample.journal.length; length++) {
      const cut = sample.journal.subarray(0, length);
      let parsed: ReturnType<typeof parseCheckpointFiles> | null = null;
      const input = { snapshot: sample.snapshot, journal: cut, file: sample.snapshotPath };
      try {
        parsed = parseCheckpointFiles(input);
      } catch (error) {
        // Only a cut inside the header line can be an error: a journal is never written without one.
        expect(error).toBeInstanceOf(CheckpointFileError);
        expect(length).toBeLessThan(sample.journal.indexOf(10) + 1);
        expect(() => summarizeCheckpointFiles(input)).toThrow((error as Error).message);
        continue;
      }
      const summarized = summarizeCheckpointFiles(input);
      expect(summarized.summary, `cut at ${length}`).toEqual(summarize(parsed.checkpoint));
      expect(summarized.tornTail, `cut at ${length}`).toEqual(parsed.tornTail);
      const state = JSON.stringify(parsed.checkpoint);
      expect(acknowledged).toContain(state);
      states.add(state);
      // A cut right after the header or a commit line is clean, and so is one that took only the
      // newline after a commit line (the batch is whole and verifies); anywhere else it leaves a
      // torn tail.
      const justNewline = boundaries.slice(1).includes(length + 1);
      const clean = boundaries.includes(length) || justNewline;
      expect(parsed.tornTail === null, `cut at ${length}`).toBe(clean);
      if (parsed.tornTail)
        expect(parsed.tornTail.bytes).toBe(
          length - Math.max(...boundaries.filter((b) => b < length)),
        );
      // Without an ack mark, no cut can be told from a crash.
      expect(parsed.lost).toBeNull();
    }
    expect(states.size).toBe(acknowledged.length);
  });

  it('tells a cut journal from a torn tail by the ack mark, at every offset: only the batch in flight may be torn', () => {
    const lines = sample.journal.toString('utf8').split('\n').slice(0, -1);
    const ends: { end: number; seq: number }[] = [];
    let offset = 0;
    for (const line of lines) {
      offset += Buffer.byteLength(line) + 1;
      const commit = /^\{"commit":(\d+),/.exec(line);
      if (commit) ends.push({ end: offset, seq: Number(commit[1]) });
    }
    const last = ends.at(-1)!.seq;
    const headerEnd = sample.journal.indexOf(10) + 1;
    const snapshotSeq = ends[0]!.seq - 1;
    let lost = 0;
    for (let length = headerEnd; length <= sample.journal.length; length++) {
      const parsed = parseCheckpointFiles({
        snapshot: sample.snapshot,
        journal: sample.journal.subarray(0, length),
        file: sample.snapshotPath,
        ack: encodeAck(last),
      });
      // The batches whose commit line survived whole (its newline may be gone).
      const found = Math.max(
        snapshotSeq,
        ...ends.filter((e) => e.end - 1 <= length).map((e) => e.seq),
      );
      if (found === last) {
        expect(parsed.lost, `cut at ${length}`).toBeNull();
      } else {
        expect(parsed.lost, `cut at ${length}`).toEqual({ acked: last, found });
        lost += 1;
      }
    }
    expect(lost).toBe(ends.at(-1)!.end - 1 - headerEnd);
    // A torn batch after the last acknowledged one (the batch in flight) is a crash, not a loss.
    const inFlight = Buffer.concat([sample.journal, Buffer.from('{"type":"unit.started","at":"2')]);
    const torn = parseCheckpointFiles({
      snapshot: sample.snapshot,
      journal: inFlight,
      file: sample.snapshotPath,
      ack: encodeAck(last),
    });
    expect(torn.lost).toBeNull();
    expect(torn.tornTail).not.toBeNull();
  });
});
