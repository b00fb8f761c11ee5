import { execFileSync } from 'node:child_process';
import { appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { always, openRun } from '@checkpointkit/core';
import {
  checkpointFileName,
  fileStore,
  journalFileName,
  lockFileName,
} from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { hasEscapes, runCli } from '../helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

describe('checkpointkit show <id>', () => {
  it('shows the summary, the unit tree and the failed units with their errors', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'github:acme/pulls', sampleChanges('github:acme/pulls'));
    const result = await runCli(['show', 'github:acme/pulls', '--dir', dir]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const out = result.stdout;
    expect(out).toMatch(/^github:acme\/pulls\n/);
    expect(out).toMatch(/^ {2}status +running \(not locked\)$/m);
    expect(out).toMatch(
      /^ {2}progress +33\.3% {2}2\/6 units complete \(2 complete, 1 in progress, 1 pending, 2 failed\)$/m,
    );
    expect(out).toMatch(/^ {2}items +991 done$/m);
    expect(out).toMatch(/^ {2}updated +2025-01-06 08:08:00Z \(\d+d ago\)$/m);
    expect(out).toMatch(/^ {2}saves +1, last: every 5 units$/m);
    expect(out).toMatch(/^ {2}stats +records 991$/m);
    expect(out).toMatch(/^ {2}id maps +pull 1 id$/m);
    expect(out).toContain(`  source    file store at ${dir}\n`);
    expect(out).toContain(
      [
        'Units (6)',
        '└── collect/acme/  6 units: 2 complete, 1 in progress, 1 pending, 2 failed',
        '    ├── api/ …  2 units: 2 complete',
        '    ├── docs/pulls  failed  200 items  cursor 2',
        '    ├── sdk/pulls  pending',
        '    └── web/ …  2 units: 1 in progress, 1 failed',
      ].join('\n'),
    );
    expect(out).toContain(
      [
        'Failed units (2)',
        '  collect/acme/docs/pulls  retryable, attempts 1, cursor 2, 2025-01-06 08:06:00Z',
        '    API rate limit exceeded for installation ID 4412',
        '  collect/acme/web/issues  not retryable, attempts 1, 2025-01-06 08:07:00Z',
        '    403 Forbidden: Resource not accessible by integration',
      ].join('\n'),
    );
    expect(hasEscapes(out)).toBe(false);
  });

  it('opens deeper groups with --depth and everything with --all', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const deep = await runCli(['show', 'job', '--dir', dir, '--depth', '3']);
    expect(deep.stdout).toContain('    │   ├── issues  complete  120 items\n');
    const all = await runCli(['show', 'job', '--dir', dir, '--all']);
    expect(all.stdout.match(/^.*(complete|pending|in progress|failed) {2}/gm)).toBeTruthy();
    expect(all.stdout).toContain('        └── pulls  in_progress  300 items  cursor 3\n');
    const bad = await runCli(['show', 'job', '--dir', dir, '--depth', 'zero']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--depth <n>' argument 'zero' is invalid");
  });

  it('prints the checkpoint as JSON with --json', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const result = await runCli(['show', 'job', '--dir', dir, '--json']);
    const shown = JSON.parse(result.stdout);
    expect(shown.summary).toMatchObject({ id: 'job', total: 6, percent: 33.3 });
    expect(shown.lockedBy).toBeNull();
    expect(shown.format).toBe('checkpointkit/1');
    expect(shown.checkpoint.units['collect/acme/web/issues'].error.retryable).toBe(false);
  });

  it('reads a checkpoint not compacted yet by the path of its snapshot', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const result = await runCli(['show', join(dir, checkpointFileName('job'))]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('job');
  });

  it('warns about an incomplete last journal batch a crash left, and shows the rest', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const journal = join(dir, journalFileName('job'));
    await appendFile(journal, '{"seq":99,"changes":[{"type":"unit.comp');
    const result = await runCli(['show', join(dir, checkpointFileName('job'))]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  progress  33.3%  2/6 units complete');
    expect(result.stderr).toMatch(
      /^checkpointkit: warning: .*job\.checkpoint\.jsonl:\d+: ignored an incomplete last batch \(\d+ bytes a crash left mid-write\)\n$/,
    );
  });

  it('warns that acknowledged batches are missing when the journal was cut, by id and by file, in show and ls', async () => {
    const dir = await tempDir();
    const store = fileStore({ dir });
    const run = await openRun({ id: 'job', store, strategy: always(), signals: false });
    await run.plan(['a', 'b', 'c', 'd']);
    for (const key of ['a', 'b', 'c', 'd']) await run.complete(key);
    await run.close();
    await store.close();
    const journal = join(dir, journalFileName('job'));
    const whole = await readFile(journal);
    await writeFile(journal, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const damaged =
      /the journal ends at batch \d+, but batch \d+ was acknowledged: \d+ acknowledged batch(es)? (are |is )?missing/;
    for (const args of [
      ['show', 'job', '--dir', dir],
      ['show', join(dir, checkpointFileName('job'))],
      ['ls', '--dir', dir],
    ]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stderr, args.join(' ')).toMatch(damaged);
    }
  });

  it('exits 3 with one line for an unknown id', async () => {
    const dir = await tempDir();
    const result = await runCli(['show', 'nope', '--dir', dir]);
    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr: `checkpointkit: error: no checkpoint "nope" in file store at ${dir}\n`,
    });
  });
});

describe('checkpointkit show: an id or a file', () => {
  it('reads an id from the store even when a file in the working directory has its name', async () => {
    const cwd = await tempDir();
    await writeCheckpoint(join(cwd, '.checkpoints'), 'job', sampleChanges('job'));
    await writeCheckpoint(
      join(cwd, '.checkpoints'),
      'github:acme/pulls',
      sampleChanges('github:acme/pulls'),
    );
    const seed = fixture('seed-000/migration_checkpoint.json');
    await copyFile(seed, join(cwd, 'job'));
    await mkdir(join(cwd, 'github:acme'));
    await copyFile(seed, join(cwd, 'github:acme', 'pulls'));
    for (const id of ['job', 'github:acme/pulls']) {
      const byId = await runCli(['show', id], { cwd });
      expect(byId, id).toMatchObject({ code: 0, stderr: '' });
      expect(byId.stdout).toContain('  source    file store at .checkpoints\n');
    }
    // A path that starts with ./ (or /, ../) or ends in .json or .jsonl is a file.
    const byPath = await runCli(['show', './job'], { cwd });
    expect(byPath).toMatchObject({ code: 0, stderr: '' });
    expect(byPath.stdout).toContain('  source    ./job (seed-000/1.0)\n');
    // No such id, but a file of that name here: says how to read the file.
    await copyFile(seed, join(cwd, 'other'));
    expect(await runCli(['show', 'other'], { cwd })).toEqual({
      code: 3,
      stdout: '',
      stderr:
        'checkpointkit: error: no checkpoint "other" in file store at .checkpoints (a file named other is here: `checkpointkit show ./other` reads it)\n',
    });
  });

  it('says that a lock whose owner file is unreadable has an unreadable owner file', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const lock = join(dir, lockFileName('job'));
    await mkdir(lock);
    await writeFile(join(lock, 'owner.json'), '{"pid":');
    const shown = await runCli(['show', 'job', '--dir', dir]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      new RegExp(
        `^ {2}status +running \\(locked by an unknown process: its owner file ${escapeRegExp(join(lock, 'owner.json'))} is unreadable; lock refreshed at \\S+\\)$`,
        'm',
      ),
    );
    const reset = await runCli(['reset-failed', 'job', '--dir', dir]);
    expect(reset.code).toBe(4);
    expect(reset.stderr).toContain(
      `checkpoint "job" is locked by an unknown process: its owner file ${join(lock, 'owner.json')} is unreadable`,
    );
    expect(`${shown.stdout}${reset.stderr}`).not.toMatch(/pid 0|unknown host/);
  });
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('checkpointkit show <file>', () => {
  it('reads a file store snapshot with its journal', async () => {
    const dir = await tempDir();
    const id = 'github:acme/pulls';
    const changes = sampleChanges(id);
    // Half the changes in the snapshot, the rest in the journal beside it.
    await writeCheckpoint(dir, id, changes.slice(0, 12));
    const store = fileStore({ dir });
    await store.compact(id);
    await store.append(id, changes.slice(12));
    await store.close?.();
    const file = join(dir, checkpointFileName(id));
    for (const path of [file, file.replace(/\.json$/, '.jsonl')]) {
      const result = await runCli(['show', path]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`  source    ${path} (checkpointkit/1, file store)\n`);
      expect(result.stdout).toContain('Failed units (2)');
      expect(result.stdout).toContain('  progress  33.3%  2/6 units complete');
      // A failure's structured cause, under its message.
      expect(result.stdout).toContain(
        '    status 403, https://api.github.com/repos/acme/wéb/issues\n',
      );
    }
  });

  it.each([
    [
      'canonical/acme-pulls.checkpoint.json',
      'checkpointkit/1',
      'github:acme/pulls',
      ['collect/acme/web/pulls  not retryable', 'HTTP 451 — "unavailable"'],
    ],
    [
      'seed-000/migration_checkpoint.json',
      'seed-000/1.0',
      'migration_checkpoint',
      [
        'pages/blog/2024/cloudflare-d1  retryable',
        'wrangler d1 execute failed: 429 Too Many Requests',
      ],
    ],
    [
      'seed-002/legacy-v1.json',
      'seed-002/1.0',
      'fetch_prebid_master_modules',
      ['items  in_progress'],
    ],
    [
      'seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json',
      'seed-002/2.0',
      'fetch_prebid_Prebid.js_master',
      ['items  in_progress', 'last: Rate-limit: 800/5000'],
    ],
    [
      'seed-003/target=sample-org/checkpoint.json',
      'seed-003',
      'gh_year_end:target=sample-org',
      [
        'repos/sample-org/private-infra/pulls  not retryable',
        '403 Forbidden: Resource not accessible by integration',
        'repos/sample-org/docs/pulls  retryable',
      ],
    ],
  ])('reads %s (%s)', async (name, format, id, expected) => {
    const result = await runCli(['show', fixture(name), '--all']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(id);
    expect(result.stdout).toContain(`(${format})`);
    for (const text of expected) expect(result.stdout).toContain(text);
  });

  it('exits 5 with one line naming a damaged file, and leaves its bytes alone', async () => {
    const dir = await tempDir();
    const file = join(dir, 'progress.json');
    const original = await readFile(fixture('seed-000/migration_checkpoint.json'), 'utf8');
    const truncated = original.slice(0, 400);
    await writeFile(file, truncated);
    const result = await runCli(['show', file]);
    expect(result.code).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^checkpointkit: error: .*progress\.json:\d+: not JSON: ends early \(truncated\?\).*\n$/,
    );
    expect(await readFile(file, 'utf8')).toBe(truncated);

    await writeFile(file, '{"version": "9.9"}');
    const unknown = await runCli(['show', file]);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('unknown version "9.9"');
  });

  // A named pipe waits for a writer when opened plainly: show and ls would never return.
  it('refuses a named pipe at once, given by path or carrying a store file name', async () => {
    const dir = await tempDir();
    const pipe = join(dir, 'progress.json');
    execFileSync('mkfifo', [pipe]);
    const byPath = await runCli(['show', pipe]);
    expect(byPath.code).toBe(2);
    expect(byPath.stderr).toContain(`${pipe}: it is a named pipe, not a checkpoint file`);

    await writeCheckpoint(dir, 'good', sampleChanges('good'));
    const stored = join(dir, checkpointFileName('piped'));
    execFileSync('mkfifo', [stored]);
    const ls = await runCli(['ls', '--dir', dir]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain('good');
    expect(ls.stderr).toContain(`${stored}: it is a named pipe, not a file; it was not read`);
    const byId = await runCli(['show', 'piped', '--dir', dir]);
    expect(byId.code).toBe(2);
    expect(byId.stderr).toContain(`${stored}: it is a named pipe, not a checkpoint file`);
  }, 60_000);

  it('exits 5 for a damaged store snapshot, shown by id or by path, and keeps it', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const snapshot = join(dir, checkpointFileName('job'));
    const damaged = await flipSnapshotByte(dir, 'job');
    for (const target of ['job', snapshot]) {
      const result = await runCli(['show', target, '--dir', dir]);
      expect(result.code).toBe(5);
      expect(result.stderr.split('\n')).toHaveLength(2);
      expect(result.stderr).toContain(checkpointFileName('job'));
      expect(await readFile(snapshot)).toEqual(damaged);
    }
  });
});

/** Compacts the checkpoint into a snapshot and flips one byte of its body; returns the bytes. */
async function flipSnapshotByte(dir: string, id: string): Promise<Buffer> {
  const store = fileStore({ dir });
  await store.compact(id);
  await store.close?.();
  const snapshot = join(dir, checkpointFileName(id));
  const bytes = await readFile(snapshot);
  const at = bytes.indexOf('records');
  bytes[at] = 'R'.charCodeAt(0);
  await writeFile(snapshot, bytes);
  return bytes;
}
