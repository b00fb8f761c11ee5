// What a stranger to the CLI does that hostile.test.ts does not: store options and unit keys left
// empty by an unset variable, store options contradicting each other, connection strings that are
// no URL, sockets, folders and devices where a checkpoint file or store goes, a huge seed file
// beside the store, a full disk on stdout, a reader of stderr that is gone. Each must end in one
// typed line naming the option or file, the documented exit code, and no change to any checkpoint.
import { execFileSync, spawn } from 'node:child_process';
import { lstat, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  checkpointFileName,
  checkpointFilesOf,
  journalFileName,
} from '@checkpointkit/storage-file';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadCheckpoint, sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { BIN, childEnv, runCli } from '../helpers/cli.js';

/** A server nobody listens on: a verb that tried to connect would fail only after its retries. */
const NOWHERE = 'postgres://someone:s3cret-pw@127.0.0.1:1/jobs';

describe('store options', () => {
  it('an empty --url (an unset variable) is a usage error, not the file store of the folder', async () => {
    const root = await tempDir();
    const dir = join(root, '.checkpoints');
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    for (const args of [['rm', 'job', '--yes'], ['ls']]) {
      const result = await runCli([...args, '--url', ''], { cwd: root });
      expect(result, args.join(' ')).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'checkpointkit: error: --url is empty: name the PostgreSQL database (postgres://user@host:5432/database)\n',
      });
    }
    // rm --yes ran on the file store in the working folder before: the checkpoint was deleted.
    expect((await loadCheckpoint(dir, 'job'))?.units['collect/acme/docs/pulls']?.status).toBe(
      'failed',
    );
  });

  it('an empty or malformed --schema is a usage error naming it, before any connection', async () => {
    for (const schema of ['', 'a;drop table x']) {
      const result = await runCli(['ls', '--url', NOWHERE, '--schema', schema]);
      expect(result.code, schema).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr, schema).toMatch(/^checkpointkit: error: --schema .*\n$/);
    }
  });

  it('a connection string that is no postgres:// URL is a usage error naming where it came from, never echoed', async () => {
    const cases = [
      { args: ['--url', 'mysql://someone:s3cret-pw@db/jobs'], from: '--url' },
      { args: ['--url', 'postgres://someone:s3cret-pw@[db/jobs'], from: '--url' },
      {
        args: ['--store', 'postgres'],
        env: { DATABASE_URL: 'someone:s3cret-pw@db' },
        from: 'DATABASE_URL',
      },
    ];
    for (const { args, env, from } of cases) {
      const result = await runCli(['show', 'job', ...args], { env });
      const what = `${args.join(' ')} ${JSON.stringify(env ?? {})}`;
      expect(result.code, what).toBe(2);
      expect(result.stderr, what).toMatch(
        new RegExp(`^checkpointkit: error: ${from} is not a (valid )?postgres:// URL.*\\n$`),
      );
      expect(result.stdout + result.stderr, what).not.toContain('s3cret-pw');
    }
  });

  it('--dir with --url or --store postgres, or --store file with --url, is a usage error', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    for (const args of [
      ['show', 'job', '--dir', dir, '--url', NOWHERE],
      ['rm', 'job', '--yes', '--store', 'postgres', '--url', NOWHERE, '--dir', dir],
      ['ls', '--store', 'file', '--url', NOWHERE],
      ['migrate', join(dir, 'seed.json'), '--out', dir, '--url', NOWHERE],
    ]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toMatch(
        /^checkpointkit: error: --(dir|url|out) .*: pass the options of one store\n$/,
      );
      expect(result.stderr).not.toContain('s3cret-pw');
    }
    expect((await loadCheckpoint(dir, 'job'))?.units['collect/acme/docs/pulls']?.status).toBe(
      'failed',
    );
  });
});

describe('a typed store option and the store the environment chooses', () => {
  // A stranger's shell exports CHECKPOINT_STORE (and DATABASE_URL) for the jobs; what they type
  // then must not be dropped for the environment's choice. The connection string here is no URL:
  // a verb that went to PostgreSQL says so (exit 2), and never echoes it.
  const BAD_URL = 'mysql://someone:s3cret-pw@db/jobs';

  it('--dir (or ls <dir>, migrate --out) picks the file store over CHECKPOINT_STORE=postgres', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const env = { CHECKPOINT_STORE: 'postgres', DATABASE_URL: BAD_URL };
    const out = join(await tempDir(), 'store');
    for (const [args, shown] of [
      [['ls', '--dir', dir], /^job +running/m],
      [['ls', dir], /^job +running/m],
      [['show', 'job', '--dir', dir], /^ {2}source +file store at /m],
      [['migrate', fixture('seed-000/migration_checkpoint.json'), '--out', out], /^migrated /],
    ] as const) {
      const result = await runCli([...args], { env });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout, args.join(' ')).toMatch(shown);
      expect(result.stdout + result.stderr).not.toContain('s3cret-pw');
    }
  });

  it('--url or --schema picks PostgreSQL over CHECKPOINT_STORE=file', async () => {
    const root = await tempDir();
    await writeCheckpoint(join(root, '.checkpoints'), 'job', sampleChanges('job'));
    for (const { args, env, from } of [
      { args: ['ls', '--url', BAD_URL], env: {}, from: '--url' },
      // --schema listed the file store of the working folder, the schema dropped.
      { args: ['ls', '--schema', 'jobs'], env: { DATABASE_URL: BAD_URL }, from: 'DATABASE_URL' },
    ]) {
      const result = await runCli(args, { cwd: root, env: { CHECKPOINT_STORE: 'file', ...env } });
      expect(result, args.join(' ')).toEqual({
        code: 2,
        stdout: '',
        stderr: `checkpointkit: error: ${from} is not a postgres:// URL (expected postgres://user@host:5432/database; the value is not shown)\n`,
      });
    }
  });

  it('a store the environment chose, and cannot open, is said to come from CHECKPOINT_STORE', async () => {
    for (const [store, said] of [
      ['pg', 'CHECKPOINT_STORE is "pg", an unknown store (expected "file" or "postgres")'],
      [
        'postgres',
        'CHECKPOINT_STORE=postgres needs a connection string: pass --url or set DATABASE_URL',
      ],
    ]) {
      const result = await runCli(['ls'], { env: { CHECKPOINT_STORE: store } });
      expect(result, store).toEqual({
        code: 2,
        stdout: '',
        stderr: `checkpointkit: error: ${said}\n`,
      });
    }
  });

  it('ls <dir> with --dir naming another folder is a usage error, not one of them dropped', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const result = await runCli(['ls', a, '--dir', b]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `checkpointkit: error: ls ${a} and --dir ${b} name different directories: pass one of them\n`,
    });
  });

  it('--schema with --dir or --store file is a usage error, as the options of two stores', async () => {
    const dir = await tempDir();
    for (const args of [
      ['ls', '--dir', dir, '--schema', 'jobs'],
      ['ls', '--store', 'file', '--schema', 'jobs'],
    ]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toMatch(
        /^checkpointkit: error: --(dir|schema) .*--(schema|store file) .*: pass the options of one store\n$/,
      );
    }
  });
});

describe('show options', () => {
  it('--all with --depth or --limit is a usage error naming both, not --all winning silently', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    for (const [option, value] of [
      ['--depth <n>', '3'],
      ['--limit <n>', '5'],
    ] as const) {
      const flag = option.split(' ')[0]!;
      const result = await runCli(['show', 'job', '--all', flag, value, '--dir', dir]);
      expect(result, flag).toEqual({
        code: 2,
        stdout: '',
        stderr: `checkpointkit: error: option '--all' cannot be used with option '${option}'\n`,
      });
    }
  });
});

describe('unit keys', () => {
  it('an empty unit key or --under is a usage error; a filter that leaves every failed unit out says so', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    for (const args of [
      ['reset', 'job', ''],
      ['reset-failed', 'job', '--under', ''],
    ]) {
      const result = await runCli([...args, '--dir', dir]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(
        /^checkpointkit: error: .*a unit key is never empty\n$/,
      );
    }
    // Two failed units, neither under collect/acme/api: not "no failed units".
    const none = await runCli(['reset-failed', 'job', '--under', 'collect/acme/api', '--dir', dir]);
    expect(none).toEqual({
      code: 0,
      stdout:
        'none of the 2 failed units of "job" is under "collect/acme/api": nothing was reset\n',
      stderr: '',
    });
    expect((await loadCheckpoint(dir, 'job'))?.units['collect/acme/docs/pulls']?.status).toBe(
      'failed',
    );
  });
});

describe('what is not a checkpoint file', () => {
  it('a socket under a checkpoint name, or given to migrate, is refused as a socket (exit 2)', async () => {
    const dir = await tempDir();
    await listen(join(dir, journalFileName('sock')));
    for (const args of [
      ['show', 'sock'],
      ['rm', 'sock', '--yes'],
    ]) {
      const result = await runCli([...args, '--dir', dir]);
      expect(result, args.join(' ')).toEqual({
        code: 2,
        stdout: '',
        stderr: `checkpointkit: error: ${join(dir, journalFileName('sock'))}: it is a socket, not a checkpoint file; it was not read\n`,
      });
    }
    const file = join(dir, 'progress.json');
    await listen(file);
    const migrated = await runCli(['migrate', file, '--dir', join(dir, 'store')]);
    expect(migrated).toEqual({
      code: 2,
      stdout: '',
      stderr: `checkpointkit: error: ${file}: it is a socket, not a checkpoint file; it was not read\n`,
    });
  });

  it("a named pipe under any of a checkpoint's file names, its ack mark too, is refused as a pipe (exit 2)", async () => {
    const files = checkpointFilesOf(checkpointFileName('job'))!;
    for (const name of [files.snapshot, files.journal, files.ack]) {
      const dir = await tempDir();
      await writeCheckpoint(dir, 'job', sampleChanges('job'));
      const pipe = join(dir, name);
      await rm(pipe, { force: true });
      execFileSync('mkfifo', [pipe]);
      for (const args of [
        ['show', 'job'],
        ['rm', 'job', '--yes'],
      ]) {
        const result = await runCli([...args, '--dir', dir]);
        expect(result, `${args.join(' ')}: ${name}`).toEqual({
          code: 2,
          stdout: '',
          stderr: `checkpointkit: error: ${pipe}: it is a named pipe, not a checkpoint file; it was not read\n`,
        });
      }
      // Nothing was deleted.
      expect((await lstat(pipe)).isFIFO()).toBe(true);
    }
  });

  it('a folder under a checkpoint file name is not sent to repair, which does not move it (exit 5)', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const folder = join(dir, checkpointFileName('job'));
    await mkdir(folder);
    for (const args of [
      ['show', 'job'],
      ['repair', 'job', '--yes'],
    ]) {
      const result = await runCli([...args, '--dir', dir]);
      expect(result, args.join(' ')).toEqual({
        code: 5,
        stdout: '',
        stderr: `checkpointkit: error: ${folder}: it is a folder, not a file; it was not read; it is no file CheckpointKit wrote and \`checkpointkit repair\` does not move it: move it out of the store\n`,
      });
    }
  });

  it('a device given as --dir is said to be one (exit 2), not a file to show', async () => {
    const result = await runCli(['ls', '--dir', '/dev/null']);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'checkpointkit: error: /dev/null: it is a device, not a directory of checkpoints\n',
    });
  });

  it('show of a folder named like a .json file says it is a folder (exit 2), not "no file"', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'progress.json'));
    const result = await runCli(['show', 'progress.json', '--dir', join(root, 'store')], {
      cwd: root,
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^checkpointkit: error: progress\.json is a directory, not a checkpoint file, and no checkpoint "progress\.json" is in file store at .*\n$/,
    );
  });

  it('ls does not read a seed file over the 64M limit whole: it warns, naming it', async () => {
    const root = await tempDir();
    await writeCheckpoint(join(root, 'store'), 'job', sampleChanges('job'));
    // Text at the start (so it passes the look at its first bytes), then a hole to 70 MiB.
    const big = join(root, 'store', 'nightly_checkpoint.json');
    await writeFile(big, `{"version": "2.0", "pad": "${' '.repeat(70 * 1024)}`);
    const handle = await open(big, 'r+');
    await handle.truncate(70 * 1024 * 1024);
    await handle.close();
    const result = await runCli(['ls', '--dir', join(root, 'store')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^job +running/m);
    expect(result.stderr).toBe(
      `checkpointkit: warning: ${big}: 70.0 MiB, over the 64.0 MiB limit for a checkpoint file; it was not read (show it with --max-size to read a larger one)\n`,
    );
  });
});

describe('ls over the whole file system', () => {
  it('ls --dir / does not descend into /proc, /sys or /dev (it walked /proc for seconds)', async () => {
    const root = await tempDir();
    // Every folder the child reads, recorded by a spy it loads first (NODE_OPTIONS --import).
    const spy = join(root, 'record-readdir.mjs');
    const log = join(root, 'readdir.log');
    await writeFile(spy, READDIR_SPY);
    const result = await runCli(['ls', '--dir', '/'], {
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(spy).href}`,
        READDIR_LOG: log,
      },
    });
    expect(result.code, result.stderr).toBe(0);
    const read = (await readFile(log, 'utf8')).split('\n');
    // The spy saw the walk: the root, and this test's folder below it.
    expect(read).toContain('/');
    expect(read).toContain(root);
    // At most a few named: the walk read thousands of them.
    expect(read.filter((path) => /^\/(proc|sys|dev)(\/|$)/.test(path)).slice(0, 3)).toEqual([]);
  });
});

describe('a standard output that cannot be written', () => {
  it('a full disk is one line on stderr (exit 1), not a stack trace', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const full = await open('/dev/full', 'w');
    onTestFinished(() => full.close());
    const child = spawn(process.execPath, [BIN, 'show', 'job', '--dir', dir], {
      env: childEnv(),
      stdio: ['ignore', full.fd, 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr:
        'checkpointkit: error: cannot write to standard output: ENOSPC: no space left on device, write\n',
    });
  });
});

describe('a reader of standard error that is gone', () => {
  it('leaves the exit code of the verb (3 for an unknown id), not a crash (exit 1)', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, [BIN, 'show', 'nope', '--dir', dir], {
      env: childEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Closed before the child has even started Node: its error line meets a pipe without reader.
    child.stderr!.destroy();
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(3);
  });
});

/**
 * Loaded by a child before the CLI: records the path of every `readdir` of `node:fs/promises`
 * (the ESM binding the CLI imports is synced to the wrapper) into READDIR_LOG when it exits.
 */
const READDIR_SPY = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const read = [];
const readdir = fs.promises.readdir;
fs.promises.readdir = (path, ...rest) => {
  read.push(String(path));
  return readdir(path, ...rest);
};
syncBuiltinESMExports();
process.on('exit', () => fs.writeFileSync(process.env.READDIR_LOG, read.join('\\n')));
`;

/** A file of test/fixtures. */
function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** A Unix socket listening at `path` until the test ends. */
async function listen(path: string): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}
