// Checkpoint files and arguments the user did not make: what each verb prints, the exit code it
// ends with, and that a refused command leaves every byte where it was.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Change } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { at, sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { runCli, runInTerminal } from '../helpers/cli.js';

/**
 * What a terminal acts on: C0 controls but the line feed that ends each line, DEL, C1 controls
 * (0x9b is a one-byte CSI on some terminals), line separators and bidirectional overrides.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Clears the screen, sets the window title, rings the bell, moves the cursor, reverses text. */
const EVIL = '\u001b[2J\u001b]0;owned\u0007\r\u009b1A\u202e';
const ID = `job${EVIL}`;
const KEY = `pages/${EVIL}/1`;

/** A checkpoint whose every free-form string (id, key, error, cause, counter, save) is hostile. */
function hostileChanges(): Change[] {
  return [
    { type: 'created', at: at(0), id: ID, configDigest: null },
    { type: 'unit.planned', at: at(0), key: KEY },
    { type: 'unit.planned', at: at(0), key: 'pages/2' },
    { type: 'unit.started', at: at(1), key: KEY },
    { type: 'unit.progressed', at: at(1), key: KEY, cursor: `c${EVIL}`, done: 1 },
    {
      type: 'unit.failed',
      at: at(2),
      key: KEY,
      message: `upstream said: ${EVIL}\nsecond line`,
      retryable: true,
      cause: { status: 502, url: `https://example.test/${EVIL}`, code: `E${EVIL}` },
    },
    { type: 'counter.added', name: `rows${EVIL}`, by: 1 },
    { type: 'id.mapped', map: `map${EVIL}`, source: '1', target: '2' },
    { type: 'saved', at: at(3), reason: `reason${EVIL}` },
    { type: 'status', at: at(3), status: 'interrupted' },
  ];
}

/** The control characters in `text`, escaped, so a failure shows where they are. */
function controls(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => CONTROL.test(line))
    .map((line) => JSON.stringify(line));
}

describe('hostile strings in a checkpoint', () => {
  it('never reach the terminal as control characters, in any verb that prints them', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, hostileChanges());
    const runs = {
      show: await runCli(['show', ID, '--dir', dir, '--all']),
      ls: await runCli(['ls', dir]),
      watch: await runCli(['watch', ID, '--dir', dir]),
      reset: await runCli(['reset', ID, 'pages', '--prefix', '--keep-cursor', '--dir', dir]),
      resetOne: await runCli(['reset', ID, KEY, '--dir', dir]),
      repair: await runCli(['repair', ID, '--dir', dir]),
      rm: await runCli(['rm', ID, '--yes', '--dir', dir]),
    };
    for (const [verb, result] of Object.entries(runs)) {
      expect(controls(result.stdout + result.stderr), verb).toEqual([]);
    }
    expect(runs.show.code).toBe(0);
    // Shown escaped, each where it belongs: the message stays one line.
    expect(runs.show.stdout).toContain(
      '    upstream said: \\x1b[2J\\x1b]0;owned\\x07\\x0d\\x9b1A\\u202e\\x0asecond line\n',
    );
    expect(runs.show.stdout.split('\n')[0]).toBe(
      'job\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x9b1A\\u202e',
    );
    expect(runs.ls.code).toBe(0);
    expect(runs.watch.code).toBe(1);
    expect(runs.reset.code).toBe(0);
    expect(runs.resetOne.code).toBe(0);
    expect(runs.repair.code).toBe(0);
    expect(runs.rm.code).toBe(0);
  });

  it('never reach a terminal from the progress bar or the rm prompt', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, hostileChanges());
    const bar = await runInTerminal(['watch', ID, '--dir', dir]);
    expect(bar.code).toBe(1);
    const prompt = await runInTerminal(['rm', ID, '--dir', dir], { input: 'n\r' });
    expect(prompt.stdout).toContain('[y/N]');
    for (const result of [bar, prompt]) {
      // The terminal's own sequences (colours, the bar's cursor) are there; the checkpoint's not.
      expect(result.stdout).not.toContain('\u001b[2J');
      expect(result.stdout).not.toContain('\u001b]0;owned');
      for (const char of ['\u0007', '\u009b', '\u202e']) expect(result.stdout).not.toContain(char);
    }
  });

  it('in a migrated seed file are escaped in what migrate prints', async () => {
    const root = await tempDir();
    // Seed 003 takes the checkpoint id from its folder's name.
    const dir = join(root, `target=${EVIL}`);
    await mkdir(dir);
    const seed = fileURLFixture('seed-003/target=sample-org/checkpoint.json');
    const file = join(dir, 'checkpoint.json');
    await writeFile(file, await readFile(seed));
    const before = await hashes(dir);
    const result = await runCli(['migrate', file, '--dir', join(root, 'store')]);
    expect(result.code, result.stderr).toBe(0);
    expect(controls(result.stdout + result.stderr)).toEqual([]);
    expect(await hashes(dir)).toEqual(before);
  });
});

describe('a --dir that is no folder', () => {
  /** Every verb that opens the file store, as a user would type it with `--dir <dir>`. */
  const verbs = (seed: string): string[][] => [
    ['show', 'job'],
    ['reset-failed', 'job'],
    ['reset', 'job', 'collect/acme/api/pulls'],
    ['rm', 'job', '--yes'],
    ['repair', 'job', '--yes'],
    ['watch', 'job'],
    ['migrate', seed],
  ];

  it('is a usage error naming it (exit 2) for every verb, and no byte changes', async () => {
    const root = await tempDir();
    const store = join(root, 'store');
    await writeCheckpoint(store, 'job', sampleChanges('job'));
    const seed = join(root, 'seed', '.migration_checkpoint.json');
    await mkdir(join(root, 'seed'));
    await writeFile(seed, await readFile(fileURLFixture('seed-000/migration_checkpoint.json')));
    // A store file given where its folder goes, and a path through a file.
    const file = join(store, 'job.checkpoint.jsonl');
    const before = { store: await hashes(store), seed: await hashes(join(root, 'seed')) };
    for (const dir of [file, join(file, 'sub')]) {
      for (const args of verbs(seed)) {
        const result = await runCli([...args, '--dir', dir]);
        const what = `${args.join(' ')} --dir ${dir}`;
        expect(result.code, `${what}: ${result.stderr}`).toBe(2);
        expect(result.stdout, what).toBe('');
        expect(result.stderr, what).toMatch(
          new RegExp(`^checkpointkit: error: ${escapeRegExp(dir)}(:| is) .*not a directory.*\\n$`),
        );
      }
    }
    expect({ store: await hashes(store), seed: await hashes(join(root, 'seed')) }).toEqual(before);
  });

  it('is a usage error when empty (a script whose variable was unset), not the working folder', async () => {
    const root = await tempDir();
    await writeCheckpoint(root, 'job', sampleChanges('job'));
    const before = await hashes(root);
    for (const args of [['ls'], ...verbs(join(root, 'nope.json'))]) {
      const result = await runCli([...args, '--dir', ''], { cwd: root });
      expect(result, args.join(' ')).toEqual({
        code: 2,
        stdout: '',
        stderr: 'checkpointkit: error: --dir is empty: name the folder of the file store\n',
      });
    }
    expect(await hashes(root)).toEqual(before);
  });
});

describe('rm (and migrate --force) of a checkpoint one of whose file names a folder holds', () => {
  it.each(['.checkpoint.json', '.checkpoint.jsonl', '.checkpoint.jsonl.prev'])(
    'refuses (exit 5), naming the folder, and deletes nothing, not even the other files (%s)',
    async (suffix) => {
      const dir = await tempDir();
      const store = fileStore({ dir });
      await store.append('job', sampleChanges('job'));
      // A compaction keeps the previous generation (.prev) that rm deletes too.
      await store.compact('job');
      await store.append('job', [{ type: 'counter.added', name: 'records', by: 1 }]);
      await store.close();
      const folder = join(dir, `job${suffix}`);
      await rm(folder, { force: true });
      await mkdir(folder);
      await writeFile(join(folder, 'notes.txt'), 'mine');
      const before = await hashes(dir);
      const result = await runCli(['rm', 'job', '--yes', '--dir', dir]);
      expect(result.code, result.stderr).toBe(5);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `checkpointkit: error: ${folder}: it is a folder, not a file: rm deletes a checkpoint's files only, so nothing was deleted (move the folder away first)\n`,
      );
      expect(await hashes(dir)).toEqual(before);
      // migrate --force, which deletes the checkpoint it replaces, refuses the same way.
      const seed = join(await tempDir(), 'migration_checkpoint.json');
      await writeFile(seed, await readFile(fileURLFixture('seed-000/migration_checkpoint.json')));
      const migrated = await runCli(['migrate', seed, '--id', 'job', '--force', '--dir', dir]);
      expect(migrated.code, migrated.stderr).toBe(5);
      expect(migrated.stderr).toContain(`${folder}: it is a folder, not a file: migrate --force`);
      expect(await hashes(dir)).toEqual(before);
      expect(await readFile(join(folder, 'notes.txt'), 'utf8')).toBe('mine');
    },
  );
});

describe('hostile arguments', () => {
  it('an empty id is a usage error (exit 2) for every verb that takes one', async () => {
    const dir = await tempDir();
    for (const args of [
      ['show', ''],
      ['reset-failed', ''],
      ['reset', '', 'a'],
      ['rm', '', '--yes'],
      ['repair', '', '--yes'],
      ['watch', ''],
      ['migrate', join(dir, 'x.json'), '--id', ''],
    ]) {
      const result = await runCli([...args, '--dir', dir]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^checkpointkit: error: .*empty.*\n$/);
    }
  });

  it('show of a folder by path says it is a folder and points to ls (exit 2), not "no file"', async () => {
    const dir = await tempDir();
    const result = await runCli(['show', `${dir}/`]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `checkpointkit: error: ${dir}/ is a directory, not a checkpoint file (to list the checkpoints in it: checkpointkit ls ${dir}/)\n`,
    });
  });

  it('show of a symbolic link that loops names the loop (exit 1), not "no file"', async () => {
    const dir = await tempDir();
    const file = join(dir, 'x.checkpoint.json');
    await symlink('x.checkpoint.json', file);
    const result = await runCli(['show', file]);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(
      new RegExp(
        `^checkpointkit: error: cannot read ${escapeRegExp(file)}: ELOOP: too many symbolic links`,
      ),
    );
  });

  it('refuses a --interval a timer cannot wait (exit 2), instead of polling without pause', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const result = await runCli(['watch', 'job', '--dir', dir, '--interval', '99999999999']);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "checkpointkit: error: option '--interval <ms>' argument '99999999999' is invalid. expected a whole number of milliseconds from 1 to 2147483647\n",
    });
  });
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function fileURLFixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** The sha256 of every file in `dir` (folders as names only). */
async function hashes(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    files[entry.name] = entry.isFile()
      ? createHash('sha256')
          .update(await readFile(join(dir, entry.name)))
          .digest('hex')
      : '(folder)';
  }
  return files;
}
