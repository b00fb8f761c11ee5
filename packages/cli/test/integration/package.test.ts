import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/checkpoints.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : [relative(join(root, 'src'), join(dir, entry.name))],
  );
}

describe('the published package', () => {
  it('packs the built sources, the bin, the README and package.json, and nothing else', async () => {
    const out = await tempDir();
    const packed = JSON.parse(
      execFileSync('pnpm', ['pack', '--json', '--pack-destination', out], {
        cwd: root,
        encoding: 'utf8',
      }),
    ) as { files: Array<{ path: string }>; filename: string };
    const files = packed.files.map((file) => file.path).sort();
    const expected = sources(join(root, 'src'))
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [
        `dist/${file.replace(/\.ts$/, '.js')}`,
        `dist/${file.replace(/\.ts$/, '.d.ts')}`,
      ]);
    expect(files.filter((file) => file.startsWith('dist/')).sort()).toEqual(expected.sort());
    expect(files.filter((file) => !file.startsWith('dist/')).sort()).toEqual(
      [
        'README.md',
        'bin/checkpointkit.js',
        'package.json',
        ...(files.includes('CHANGELOG.md') ? ['CHANGELOG.md'] : []),
      ].sort(),
    );
    for (const verb of ['ls', 'show', 'reset-failed', 'reset', 'rm', 'migrate', 'watch']) {
      expect(files).toContain(`dist/commands/${verb}.js`);
    }

    const manifest = JSON.parse(
      execFileSync('tar', ['-xzOf', packed.filename, 'package/package.json'], { encoding: 'utf8' }),
    );
    // The bin is a committed file that loads dist/bin.js, so it exists before a build.
    expect(manifest.bin).toEqual({ checkpointkit: './bin/checkpointkit.js' });
    expect(JSON.stringify(manifest.dependencies)).not.toContain('workspace:');
    const bin = execFileSync('tar', ['-xzOf', packed.filename, 'package/bin/checkpointkit.js'], {
      encoding: 'utf8',
    });
    expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(bin).toContain("await import('../dist/bin.js')");
    const version = execFileSync(
      process.execPath,
      [join(root, 'bin/checkpointkit.js'), '--version'],
      {
        encoding: 'utf8',
      },
    );
    expect(version.trim()).toBe(manifest.version);
    // What the README promises to tools that embed the command.
    const api = await import(join(root, 'dist/index.js'));
    expect(api.EXIT).toMatchObject({ OK: 0, USAGE: 2, NOT_FOUND: 3, LOCKED: 4, DAMAGED: 5 });
    expect(typeof api.main).toBe('function');
  });

  it('documents every verb, every exit code and every environment variable in its README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const verb of ['ls', 'show', 'reset-failed', 'reset', 'rm', 'migrate', 'watch']) {
      expect(readme).toContain(`### \`${verb} `);
      expect(readme).toMatch(new RegExp(`checkpointkit ${verb}( |$)`, 'm'));
    }
    const codes = readFileSync(join(root, 'src/exit-codes.ts'), 'utf8').matchAll(
      /^ {2}\w+: (\d+),$/gm,
    );
    for (const [, code] of codes) expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
    for (const name of [
      'CHECKPOINT_DIR',
      'CHECKPOINT_STORE',
      'DATABASE_URL',
      'NO_COLOR',
      'FORCE_COLOR',
    ]) {
      expect(readme).toContain(`| \`${name}\` |`);
    }
  });
});
