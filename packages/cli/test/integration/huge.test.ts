import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { runCliMeasured } from '../helpers/rss.js';

const MiB = 1024 * 1024;
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** Writes `head`, then `chunk` until the file holds `size` bytes, then `tail`. */
async function bigFile(file: string, size: number, chunk: Buffer, head = '', tail = '') {
  const handle = await open(file, 'w');
  try {
    await handle.write(head);
    for (let written = head.length; written < size - tail.length; written += chunk.length) {
      await handle.write(chunk.subarray(0, Math.min(chunk.length, size - tail.length - written)));
    }
    await handle.write(tail);
  } finally {
    await handle.close();
  }
}

/** Peak memory far below what reading the 200 MiB file whole takes (the old code: over 800 MiB). */
const MEMORY_BOUND_KIB = 200 * 1024;
/** One line of printable ASCII: no control bytes, no raw binary, no replacement characters. */
const SAFE_LINE = /^[\x20-\x7e]{1,400}\n$/;

describe('huge and binary files', () => {
  it('refuses 200 MiB of junk bytes named like a checkpoint from its first bytes, in little memory', async () => {
    const dir = await tempDir();
    const junk = randomBytes(8 * MiB);
    const snapshot = join(dir, 'job.checkpoint.json');
    await bigFile(snapshot, 200 * MiB, junk);
    const journal = join(dir, 'other.checkpoint.jsonl');
    await bigFile(journal, 200 * MiB, junk);
    const seed = join(dir, 'progress.json');
    await bigFile(seed, 200 * MiB, junk);
    for (const file of [snapshot, journal, seed]) {
      for (const verb of ['show', 'migrate']) {
        const result = await runCliMeasured([verb, file]);
        expect(result.code, `${verb} ${file}`).toBe(5);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(SAFE_LINE);
        // A short excerpt of the first bytes, escaped, cut off.
        expect(result.stderr).toMatch(
          new RegExp(
            `^checkpointkit: error: ${file}:? ?.*not a checkpoint: binary data .*it starts with "(\\\\x[0-9a-f]{2}|[\\x20-\\x7e]){1,32}\\.\\.\\."`,
          ),
        );
        expect(result.maxRssKiB, `${verb} ${file}: peak RSS`).toBeLessThan(MEMORY_BOUND_KIB);
      }
    }
    expect((await readdir(dir)).sort()).toEqual([
      'job.checkpoint.json',
      'other.checkpoint.jsonl',
      'progress.json',
    ]);
  });

  it('refuses 200 MiB of junk under a checkpoint name in the store from its first bytes, by id', async () => {
    const dir = await tempDir();
    await bigFile(join(dir, 'job.checkpoint.json'), 200 * MiB, randomBytes(8 * MiB));
    const result = await runCliMeasured(['show', 'job', '--dir', dir]);
    expect(result).toMatchObject({ code: 5, stdout: '' });
    expect(result.stderr).toMatch(SAFE_LINE);
    expect(result.stderr).toContain(
      `${join(dir, 'job.checkpoint.json')}: not a checkpoint: binary data`,
    );
    expect(result.stderr).toContain('run `checkpointkit repair job --dir');
    expect(result.maxRssKiB).toBeLessThan(MEMORY_BOUND_KIB);
  });

  it('refuses a 200 MiB JSON document over the size limit without reading it, in little memory', async () => {
    const dir = await tempDir();
    const file = join(dir, 'progress.json');
    const page = Buffer.from('{"url":"https://example.com/a","status":"done"},'.repeat(20_000));
    await bigFile(file, 200 * MiB, page, '{"version":"2.0","operation_id":"x","pages":[', '{}]}');
    for (const verb of ['show', 'migrate']) {
      const result = await runCliMeasured([verb, file]);
      expect(result).toMatchObject({
        code: 5,
        stdout: '',
        stderr: `checkpointkit: error: ${file}: 200.0 MiB, over the 64.0 MiB limit for a checkpoint file; it was not read (pass --max-size to read a larger one)\n`,
      });
      expect(result.maxRssKiB, `${verb}: peak RSS`).toBeLessThan(MEMORY_BOUND_KIB);
    }
    expect(await readdir(dir)).toEqual(['progress.json']);
  });

  it('reads a file up to --max-size (bytes, or K, M, G)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'progress.json');
    // A seed 000 checkpoint padded with whitespace to 2 MiB.
    const text = await readFile(fixture('seed-000/migration_checkpoint.json'), 'utf8');
    await writeFile(file, text + ' '.repeat(2 * MiB - Buffer.byteLength(text)));
    expect((await runCli(['show', file])).code).toBe(0);
    const small = await runCli(['show', file, '--max-size', '1M']);
    expect(small).toMatchObject({ code: 5, stdout: '' });
    expect(small.stderr).toContain(`${file}: 2.0 MiB, over the 1.0 MiB limit`);
    expect((await runCli(['show', file, '--max-size', '3m'])).code).toBe(0);
    expect((await runCli(['migrate', file, '--max-size', '1024K'])).code).toBe(5);
    expect((await runCli(['show', file, '--max-size', `${3 * MiB}`])).code).toBe(0);
    const bad = await runCli(['show', file, '--max-size', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--max-size <size>' argument 'lots' is invalid");
  });

  it('names UTF-16 text and prints control characters of a small junk file escaped', async () => {
    const dir = await tempDir();
    const utf16 = join(dir, 'progress.json');
    await writeFile(utf16, Buffer.from('\ufeff{"version":"2.0"}', 'utf16le'));
    const result = await runCli(['show', utf16]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(SAFE_LINE);
    expect(result.stderr).toContain('UTF-16 text');

    const escapes = join(dir, 'x.checkpoint.json');
    await writeFile(escapes, '\u001b[2J\u001b[31mgotcha\u0007');
    const shown = await runCli(['show', escapes]);
    expect(shown.code).toBe(5);
    expect(shown.stderr).toMatch(SAFE_LINE);
    expect(shown.stderr).toContain('it starts with "\\x1b[2J\\x1b[31mgotcha\\x07"');

    // A name with control characters (and a bidi override) is printed escaped as well.
    const named = await runCli(['show', join(dir, 'a\u001b[31m\u202eb.json')]);
    expect(named.code).toBe(3);
    expect(named.stderr).toMatch(SAFE_LINE);
    expect(named.stderr).toContain(`no file ${join(dir, 'a\\x1b[31m\\u202eb.json')}`);
  });
});
