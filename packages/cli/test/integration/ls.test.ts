import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { journalFileName } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { hasEscapes, runCli } from '../helpers/cli.js';

describe('checkpointkit ls', () => {
  it('lists checkpoints with status, percent, units, failed units and age', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'github:acme/pulls', sampleChanges('github:acme/pulls'));
    await writeCheckpoint(dir, 'quick', [
      { type: 'created', at: '2025-01-01T00:00:00.000Z', id: 'quick', configDigest: null },
      { type: 'status', at: '2025-01-01T00:01:00.000Z', status: 'completed' },
    ]);
    const result = await runCli(['ls', dir]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+PERCENT\s+UNITS\s+FAILED\s+UPDATED$/);
    expect(lines[1]).toMatch(/^github:acme\/pulls\s+running\s+33\.3%\s+2\/6\s+2\s+\d+d ago$/);
    expect(lines[2]).toMatch(/^quick\s+completed\s+100\.0%\s+0\/0\s+0\s+\d+d ago$/);
    expect(lines).toHaveLength(3);
    expect(hasEscapes(result.stdout)).toBe(false);
  });

  it('prints JSON summaries with --json, and reads the directory from --dir or CHECKPOINT_DIR', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job-1', sampleChanges('job-1', 'failed'));
    for (const args of [
      ['ls', '--json', '--dir', dir],
      ['--dir', dir, 'ls', '--json'],
    ]) {
      const result = await runCli(args);
      expect(result.code).toBe(0);
      const rows = JSON.parse(result.stdout);
      expect(rows).toEqual([
        expect.objectContaining({
          id: 'job-1',
          status: 'failed',
          total: 6,
          counts: { pending: 1, in_progress: 1, complete: 2, failed: 2 },
          percent: 33.3,
          stats: { records: 991 },
          lockedBy: null,
        }),
      ]);
    }
    const viaEnv = await runCli(['ls', '--json'], { env: { CHECKPOINT_DIR: dir } });
    expect(JSON.parse(viaEnv.stdout)).toHaveLength(1);
  });

  it('says so on stderr when the store is empty, and exits 3 for a missing directory', async () => {
    const dir = await tempDir();
    const empty = await runCli(['ls', dir]);
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toContain('no checkpoints in file store at');
    expect(await runCli(['ls', '--json', dir])).toMatchObject({ code: 0, stdout: '[]\n' });
    const missing = await runCli(['ls', `${dir}/nope`]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(`checkpointkit: error: no directory ${dir}/nope\n`);
  });

  it('says that a file is not a directory, and points to show (exit 2)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'progress.json');
    await writeFile(file, '{}');
    for (const args of [
      ['ls', file],
      ['ls', '--dir', file],
    ]) {
      const result = await runCli(args);
      expect(result, args.join(' ')).toEqual({
        code: 2,
        stdout: '',
        stderr: `checkpointkit: error: ${file} is a file, not a directory of checkpoints (to read a checkpoint file: checkpointkit show ${file})\n`,
      });
    }
  });

  it('runs with the default .checkpoints in the working directory', async () => {
    const dir = await tempDir();
    await writeCheckpoint(`${dir}/.checkpoints`, 'here', sampleChanges('here'));
    const result = await runCli(['ls'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^here\s+running/m);
  });

  it('lists the readable checkpoints and warns about a damaged one', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'good', sampleChanges('good'));
    await writeCheckpoint(dir, 'bad', sampleChanges('bad'));
    const journal = join(dir, journalFileName('bad'));
    await writeFile(journal, (await readFile(journal, 'utf8')).replace('"records"', '"recordz"'));
    const result = await runCli(['ls', dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^good\s+running/m);
    expect(result.stdout).not.toMatch(/^bad/m);
    expect(result.stderr).toMatch(
      /^checkpointkit: warning: skipped: .*bad\.checkpoint\.jsonl.*\n$/,
    );
  });
});
