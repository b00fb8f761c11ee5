import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Change } from '@checkpointkit/core';
import { checkpointFileName, fileStore, journalFileName } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { at, sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

const ID = 'job:42';
const planned = (key: string): Change => ({ type: 'unit.planned', at: at(1), key });

/**
 * A checkpoint written by the real store in four batches (created, then units a, b, c), whose
 * third batch (unit b, a middle line of the journal) is then damaged on disk.
 */
async function damaged(): Promise<{ dir: string; journal: string; bytes: string }> {
  const dir = await tempDir();
  const store = fileStore({ dir });
  try {
    await store.append(ID, [{ type: 'created', at: at(0), id: ID, configDigest: null }]);
    for (const key of ['a', 'b', 'c']) await store.append(ID, [planned(key)]);
  } finally {
    await store.close();
  }
  const journal = join(dir, journalFileName(ID));
  const original = await readFile(journal, 'utf8');
  const bytes = original.replace('"key":"b"', '"key":"x"');
  expect(bytes).not.toBe(original);
  await writeFile(journal, bytes);
  return { dir, journal, bytes };
}

/**
 * A checkpoint written by the real store and compacted twice: units a and b in its snapshot and
 * journal, unit a in its previous generation (`.prev`).
 */
async function twoGenerations(): Promise<string> {
  const dir = await tempDir();
  const store = fileStore({ dir });
  try {
    await store.append(ID, [{ type: 'created', at: at(0), id: ID, configDigest: null }]);
    await store.append(ID, [planned('a')]);
    await store.compact(ID);
    await store.append(ID, [planned('b')]);
    await store.compact(ID);
  } finally {
    await store.close();
  }
  return dir;
}

/** Every file in the store directory with its bytes (lock directories as names only). */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    files[entry.name] = entry.isFile() ? await readFile(join(dir, entry.name), 'utf8') : '<dir>';
  }
  return files;
}

describe('checkpointkit repair', () => {
  it('a damaged checkpoint is refused with exit 5 and a hint to repair it', async () => {
    const { dir } = await damaged();
    const shown = await runCli(['show', ID, '--dir', dir]);
    expect(shown.code).toBe(5);
    expect(shown.stderr).toMatch(/checksum|crc/i);
    // The hint repeats the --dir it was given, so it can be pasted as it is.
    expect(shown.stderr).toContain(
      `; run \`checkpointkit repair ${ID} --dir ${dir}\` to move the damaged file aside and keep every valid change\n`,
    );
  });

  it('without --dir (CHECKPOINT_DIR), the hint names just the id', async () => {
    const { dir } = await damaged();
    const shown = await runCli(['show', ID], { env: { CHECKPOINT_DIR: dir } });
    expect(shown.code).toBe(5);
    expect(shown.stderr).toContain(`; run \`checkpointkit repair ${ID}\` to move`);
  });

  it('with --yes moves the damaged journal aside byte for byte and keeps every valid change', async () => {
    const { dir, journal, bytes } = await damaged();
    const result = await runCli(['repair', ID, '--yes', '--dir', dir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const name = journalFileName(ID);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`repaired checkpoint "${ID}" in file store at ${dir}`);
    expect(result.stdout).toMatch(new RegExp(`^ {2}damaged +${escapeRegExp(name)}:7: .+$`, 'm'));
    expect(result.stdout).toMatch(
      new RegExp(`^ {2}kept aside +${escapeRegExp(name)}\\.corrupt-[0-9TZ-]+$`, 'm'),
    );
    expect(result.stdout).toMatch(
      /^ {2}recovered +2 units, up to batch 4: the journal alone and 3 journal changes$/m,
    );
    // Batch 3 (unit b) fails its crc32: its lines are the bytes dropped.
    const batch3 = bytes.split('\n')[5]!.length + bytes.split('\n')[6]!.length + 2;
    expect(result.stdout).toMatch(
      new RegExp(`^ {2}dropped +1 batch \\(3\\), ${batch3} bytes of damaged lines$`, 'm'),
    );
    expect(result.stdout).toMatch(/^ {2}torn tail +none$/m);
    expect(result.stdout).not.toContain(dir + '/');

    const aside = (await readdir(dir)).filter((file) => file.startsWith(`${name}.corrupt-`));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, aside[0] as string), 'utf8')).toBe(bytes);
    expect(await readFile(journal, 'utf8')).not.toBe(bytes);

    const shown = await runCli(['show', ID, '--dir', dir, '--json']);
    expect(shown.code).toBe(0);
    expect(Object.keys(JSON.parse(shown.stdout).checkpoint.units).sort()).toEqual(['a', 'c']);
  });

  it('a deleted snapshot: says what was damaged and keeps the journal it replaces', async () => {
    const dir = await tempDir();
    const store = fileStore({ dir });
    try {
      await store.append(ID, [{ type: 'created', at: at(0), id: ID, configDigest: null }]);
      await store.append(ID, [planned('a')]);
      await store.compact(ID);
      await store.append(ID, [planned('b')]);
    } finally {
      await store.close();
    }
    const journal = await readFile(join(dir, journalFileName(ID)), 'utf8');
    await unlink(join(dir, checkpointFileName(ID)));
    const result = await runCli(['repair', ID, '--yes', '--dir', dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('nothing to repair');
    expect(result.stdout).toMatch(/^ {2}damaged +.+\.checkpoint\.jsonl:1: .*no snapshot/m);
    expect(result.stdout).toMatch(/^ {2}recovered +2 units, up to batch 3: the journal alone/m);
    expect(result.stdout).toMatch(/^ {2}dropped +nothing$/m);
    const aside = (await readdir(dir)).filter((f) => f.includes('.checkpoint.jsonl.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, aside[0]!), 'utf8')).toBe(journal);
  });

  it('snapshot and journal removed by hand: show and ls name what is left, repair recovers it, rm deletes it', async () => {
    const dir = await twoGenerations();
    await unlink(join(dir, checkpointFileName(ID)));
    await unlink(join(dir, journalFileName(ID)));
    const backup = await filesOf(dir);
    // Before: "no checkpoint" (exit 3) for each, while a job opening it was refused.
    const shown = await runCli(['show', ID, '--dir', dir]);
    expect(shown.code).toBe(5);
    expect(shown.stderr).toContain('the previous generation a compaction kept is there');
    expect(shown.stderr).toContain(`checkpointkit repair ${ID} --dir`);
    const listed = await runCli(['ls', dir]);
    expect(listed.stderr).toContain('the snapshot and the journal are missing');
    const repaired = await runCli(['repair', ID, '--yes', '--dir', dir]);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(
      /^ {2}recovered +2 units, up to batch 3: the previous snapshot/m,
    );
    expect((await runCli(['show', ID, '--dir', dir])).code).toBe(0);

    for (const [name, bytes] of Object.entries(backup)) await writeFile(join(dir, name), bytes);
    for (const name of await readdir(dir)) if (!(name in backup)) await unlink(join(dir, name));
    const removed = await runCli(['rm', ID, '--yes', '--dir', dir]);
    expect(removed).toMatchObject({ code: 0, stderr: '' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses without --yes when standard input is not a terminal (exit 2), changing nothing', async () => {
    const { dir } = await damaged();
    const before = await filesOf(dir);
    const result = await runCli(['repair', ID, '--dir', dir], { input: 'y\n' });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'checkpointkit: error: repair asks for confirmation, but standard input is not a terminal: pass --yes (nothing was changed)\n',
    });
    expect(await filesOf(dir)).toEqual(before);
  });

  it('says a readable checkpoint has nothing to repair (exit 0), changing nothing', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, sampleChanges(ID));
    const before = await filesOf(dir);
    const result = await runCli(['repair', ID, '--dir', dir]);
    expect(result).toEqual({
      code: 0,
      stdout: `checkpoint "${ID}" is readable: nothing to repair\n`,
      stderr: '',
    });
    expect(await filesOf(dir)).toEqual(before);
  });

  it('reports a damaged previous generation beside a readable checkpoint, keeping it aside, without asking', async () => {
    const dir = await twoGenerations();
    const prev = `${checkpointFileName(ID)}.prev`;
    const bytes = await readFile(join(dir, prev));
    const middle = bytes.length >> 1; // a byte of the body: its crc32 no longer matches
    bytes[middle] = bytes[middle]! ^ 0x01;
    await writeFile(join(dir, prev), bytes);
    const result = await runCli(['repair', ID, '--dir', dir]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^checkpoint "job:42" in file store at .* is readable; a file it no longer reads is damaged, kept aside/,
    );
    expect(result.stdout).toContain(`  damaged      ${prev}`);
    expect(result.stdout).toMatch(
      new RegExp(`  kept aside   ${prev.replace(/[.]/g, '\\.')}\\.corrupt-`),
    );
    // The checkpoint itself was readable and stays as it was.
    expect((await runCli(['show', ID, '--dir', dir])).code).toBe(0);
  });

  it('exits 3 for an unknown id', async () => {
    const dir = await tempDir();
    const result = await runCli(['repair', 'nope', '--yes', '--dir', dir]);
    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr: `checkpointkit: error: no checkpoint "nope" in file store at ${dir}\n`,
    });
  });

  it('refuses a checkpoint whose lock a running job holds (exit 4, owner named), changing nothing', async () => {
    const { dir } = await damaged();
    const store = fileStore({ dir });
    const lock = await store.lock(ID);
    try {
      const before = await filesOf(dir);
      const result = await runCli(['repair', ID, '--yes', '--dir', dir]);
      expect(result.code).toBe(4);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          `^checkpointkit: error: checkpoint "${ID}" is locked by pid ${process.pid}\\b.*; it was not changed \\(stop the job first\\)\\n$`,
        ),
      );
      expect(await filesOf(dir)).toEqual(before);
    } finally {
      await lock.release();
      await store.close();
    }
  });

  it('is for the file store only (usage, exit 2)', async () => {
    const result = await runCli([
      'repair',
      ID,
      '--yes',
      '--store',
      'postgres',
      '--url',
      'postgres://127.0.0.1:1/none',
    ]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'checkpointkit: error: repair is for the file store: a PostgreSQL checkpoint has no damaged files to move aside\n',
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
