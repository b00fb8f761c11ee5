import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCheckpointJson } from '@checkpointkit/core';
import { checkpointFileName, fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadCheckpoint, sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/**
 * A copy of a fixture in a fresh directory, as a user has it on disk; a seed 003 file keeps its
 * parent directory's name, which its default id comes from.
 */
async function copied(name: string): Promise<{ dir: string; file: string }> {
  const parts = name.split('/');
  const dir = name.startsWith('seed-003/') ? join(await tempDir(), parts[1]!) : await tempDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, parts.at(-1)!);
  await copyFile(fixture(name), file);
  return { dir, file };
}

describe('checkpointkit migrate', () => {
  it.each([
    ['seed-000/migration_checkpoint.json', 'seed-000/1.0', 'migration_checkpoint'],
    ['seed-002/legacy-v1.json', 'seed-002/1.0', 'fetch_prebid_master_modules'],
    [
      'seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json',
      'seed-002/2.0',
      'fetch_prebid_Prebid.js_master',
    ],
    ['seed-003/target=sample-org/checkpoint.json', 'seed-003', 'gh_year_end:target=sample-org'],
    ['canonical/acme-pulls.checkpoint.json', 'checkpointkit/1', 'github:acme/pulls'],
  ])('writes %s (%s) beside it in the canonical format', async (name, format, id) => {
    const { dir, file } = await copied(name);
    const text = await readFile(file, 'utf8');
    const result = await runCli(['migrate', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const target = join(dir, checkpointFileName(id));
    expect(result.stdout.split('\n')[0]).toBe(`migrated ${file} (${format}) to ${target}`);
    // The store gives back exactly what core reads from the source; the source is untouched.
    const expected = parseCheckpointJson(text, { file }).checkpoint;
    expect(await loadCheckpoint(dir, id)).toEqual(expected);
    expect(await readFile(file, 'utf8')).toBe(text);
    // Beside it: the snapshot (and the store's journal, ack mark and the previous generation its
    // compaction kept), nothing else.
    const written = (await readdir(dir)).filter((entry) => entry !== basename(file));
    expect(written).toContain(checkpointFileName(id));
    const stem = checkpointFileName(id).slice(0, -'.checkpoint.json'.length);
    expect(
      written.every((entry) =>
        /^\.checkpoint\.(json|jsonl|ack)(\.prev)?$/.test(entry.slice(stem.length)),
      ),
    ).toBe(true);
    // And the CLI reads it back as a checkpoint of the store.
    const shown = await runCli(['show', id, '--dir', dir]);
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n')[0]).toBe(id);
  });

  it('never writes over an existing checkpoint without --force (exit 6)', async () => {
    const { dir, file } = await copied('seed-000/migration_checkpoint.json');
    expect((await runCli(['migrate', file])).code).toBe(0);
    const target = join(dir, checkpointFileName('migration_checkpoint'));
    const before = await readFile(target);
    const again = await runCli(['migrate', file]);
    expect(again).toEqual({
      code: 6,
      stdout: '',
      stderr: `checkpointkit: error: ${target} already exists: pass --force to replace it (nothing was written)\n`,
    });
    expect(await readFile(target)).toEqual(before);

    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const forced = await runCli(['migrate', file, '--force', '--id', 'job']);
    expect(forced.code).toBe(0);
    expect((await loadCheckpoint(dir, 'job'))!.units).toHaveProperty(['pages/about']);
  });

  it('takes the id from --id and the directory from --out', async () => {
    const { file } = await copied('seed-002/legacy-v1.json');
    const out = await tempDir();
    const result = await runCli(['migrate', file, '--id', 'prebid:modules', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`to ${join(out, checkpointFileName('prebid:modules'))}`);
    const checkpoint = await loadCheckpoint(out, 'prebid:modules');
    expect(checkpoint!.id).toBe('prebid:modules');
  });

  it('writes into the store that --dir (or CHECKPOINT_DIR) names, where ls finds it', async () => {
    const { dir, file } = await copied('seed-000/migration_checkpoint.json');
    const id = 'migration_checkpoint';
    const ids = async (args: string[], env?: Record<string, string>) =>
      (JSON.parse((await runCli([...args, '--json'], { env })).stdout) as { id: string }[]).map(
        (row) => row.id,
      );
    const before = await tempDir();
    const result = await runCli(['--dir', before, 'migrate', file]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')[0]).toBe(
      `migrated ${file} (seed-000/1.0) to ${join(before, checkpointFileName(id))}`,
    );
    expect(await ids(['ls', '--dir', before])).toEqual([id]);
    const after = await tempDir();
    expect((await runCli(['migrate', file, '--dir', after])).code).toBe(0);
    expect(await ids(['ls', '--dir', after])).toEqual([id]);
    const fromEnv = await tempDir();
    expect((await runCli(['migrate', file], { env: { CHECKPOINT_DIR: fromEnv } })).code).toBe(0);
    expect(await ids(['ls'], { CHECKPOINT_DIR: fromEnv })).toEqual([id]);
    // Nothing beside the seed file.
    expect(await readdir(dir)).toEqual(['migration_checkpoint.json']);
    // --out is the same as --dir; two different directories are a usage error.
    const both = await runCli(['migrate', file, '--dir', before, '--out', after]);
    expect(both).toMatchObject({ code: 2, stdout: '' });
    expect(both.stderr).toContain('--dir and --out name different directories');
  });

  it('exits 5 for a damaged file and writes nothing', async () => {
    const dir = await tempDir();
    const file = join(dir, 'progress.json');
    await writeFile(file, '{"version": "2.0", "operation_id": 7}');
    const result = await runCli(['migrate', file]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(
      /^checkpointkit: error: .*progress\.json: not a checkpoint: looks like seed 002 v2\.0 but .*\n$/,
    );
    expect(await readdir(dir)).toEqual(['progress.json']);
    expect(await readFile(file, 'utf8')).toBe('{"version": "2.0", "operation_id": 7}');
  });

  it('exits 3 for a missing file', async () => {
    const dir = await tempDir();
    const result = await runCli(['migrate', join(dir, 'nope.json')]);
    expect(result).toMatchObject({
      code: 3,
      stderr: `checkpointkit: error: no file ${join(dir, 'nope.json')}\n`,
    });
  });

  it('leaves a store snapshot alone: it is in the current format already', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const store = fileStore({ dir });
    await store.compact('job');
    await store.close?.();
    const file = join(dir, checkpointFileName('job'));
    const result = await runCli(['migrate', file]);
    expect(result).toMatchObject({
      code: 0,
      stdout: `${file} is already a checkpoint of the file store: nothing to migrate\n`,
    });
  });

  it('refuses while a job holds the target id (exit 4)', async () => {
    const { dir, file } = await copied('seed-000/migration_checkpoint.json');
    const store = fileStore({ dir });
    const lock = await store.lock('migration_checkpoint');
    onTestFinished(async () => {
      await lock.release();
      await store.close?.();
    });
    const result = await runCli(['migrate', file]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('checkpoint "migration_checkpoint" is locked by pid');
    expect((await readdir(dir)).filter((name) => name.endsWith('.json'))).toEqual([
      'migration_checkpoint.json',
    ]);
  });
});
