import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Expected, GENERATORS, prng, type WildFile } from '@checkpointkit/core/testing';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

/** Files per format listed by one `ls`; a few of them also shown and migrated. */
const LISTED = 60;
const SHOWN = 4;

interface Row {
  file?: string;
  format?: string;
  total: number;
  counts: { complete: number; failed: number };
  items: { done: number; total: number | null };
  basis: string;
  percent: number;
}

/** Writes a generated file where its seed's manager would: each in a folder of its own. */
async function place(dir: string, format: string, i: number, file: WildFile): Promise<string> {
  const folder = join(dir, `${format.replace(/\W/g, '-')}-${i}`);
  await mkdir(folder, { recursive: true });
  const path = join(folder, file.name);
  await writeFile(path, JSON.stringify(file.doc, null, i % 2 ? 2 : undefined));
  return path;
}

function counts(row: Row) {
  return {
    total: row.total,
    complete: row.counts.complete,
    failed: row.counts.failed,
    items: row.items,
    basis: row.basis,
  };
}

function expectedCounts(expected: Expected) {
  const { total, complete, failed, items, basis } = expected;
  return { total, complete, failed, items, basis };
}

describe.each(Object.keys(GENERATORS))('%s files in a folder', (format) => {
  const generate = GENERATORS[format as keyof typeof GENERATORS];

  it(`ls, show and migrate give the counts the writer of ${LISTED} files knows`, async () => {
    const dir = await tempDir();
    const rng = prng(format.length * 104_729 + 14);
    const files = new Map<string, WildFile>();
    for (let i = 0; i < LISTED; i++) {
      const file = generate(rng);
      const path = await place(dir, format, i, file);
      files.set(path.slice(dir.length + 1), file);
    }

    const listed = await runCli(['ls', '--json', dir]);
    expect(listed.stderr).toBe('');
    const rows = JSON.parse(listed.stdout) as Row[];
    expect(rows).toHaveLength(LISTED);
    for (const row of rows) {
      const file = files.get(row.file!)!;
      expect(row.format, row.file).toBe(format);
      expect(counts(row), row.file).toEqual(expectedCounts(file.expected));
    }

    const table = await runCli(['ls', dir]);
    expect(table.stdout.split('\n')[0]).toMatch(/SOURCE$/);
    expect(table.stdout).toContain(`(${format})`);

    for (const [name, file] of [...files].slice(0, SHOWN)) {
      const shown = await runCli(['show', '--json', join(dir, name)]);
      expect(shown.stderr).toBe('');
      const { summary } = JSON.parse(shown.stdout) as { summary: Row };
      expect(counts(summary), name).toEqual(expectedCounts(file.expected));

      const out = await tempDir();
      const migrated = await runCli(['migrate', join(dir, name), '--out', out, '--id', 'job']);
      expect(migrated.code, migrated.stderr).toBe(0);
      const after = JSON.parse((await runCli(['show', '--json', 'job', '--dir', out])).stdout) as {
        summary: Row;
      };
      expect(counts(after.summary), `${name} migrated`).toEqual(expectedCounts(file.expected));
      expect(after.summary.percent).toBe(summary.percent);
    }
  });
});

describe('ls of a folder of seed files', () => {
  it('lists them with their format, warns of one close to a format, skips foreign JSON', async () => {
    const dir = await tempDir();
    await place(dir, 'seed-003', 0, GENERATORS['seed-003'](prng(3)));
    await writeFile(join(dir, 'checkpoint_settings.json'), '{"theme": "dark"}');
    await writeFile(
      join(dir, '.checkpoint_broken.json'),
      JSON.stringify({ version: '1.0', operation_id: 'broken', files_data: [] }),
    );
    const result = await runCli(['ls', dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/seed-003-0\/checkpoint\.json \(seed-003\)/);
    expect(result.stdout).not.toContain('settings');
    expect(result.stderr).toContain(
      'looks like seed 002 v1.0 but created_at: missing (expected created_at, last_updated or timestamp)',
    );
  });
});
