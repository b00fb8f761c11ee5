import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discoveryPatterns } from '../../src/discovery/globs.js';
import { walkFiles } from '../../src/discovery/walk.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A folder holding `files` (relative paths, `/` separated), each with a line of text. */
function workspace(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'checkpointkit-walk-'));
  roots.push(root);
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), '{}\n');
  }
  return root;
}

const patterns = (settings: Partial<Parameters<typeof discoveryPatterns>[0]> = {}) =>
  discoveryPatterns({ filesExclude: undefined, exclude: [], seedFiles: [], ...settings });

const sorted = (paths: string[]) => [...paths].sort();

/** What a whole walk of `root` finds, sorted; the walk must not have stopped at its limit. */
async function found(root: string, settings?: Parameters<typeof patterns>[0]): Promise<string[]> {
  const { paths, truncated } = await walkFiles(root, '', patterns(settings), 100);
  expect(truncated).toBe(false);
  return sorted(paths);
}

describe('walkFiles: discovery in a file: folder', () => {
  it('finds checkpoint files, seed candidates and leftovers, hidden folders and odd names included, and nothing else', async () => {
    const root = workspace([
      '.checkpoints/job.checkpoint.json',
      '.checkpoints/job.checkpoint.jsonl',
      '.checkpoints/job.checkpoint.ack',
      '.checkpoints/job.checkpoint.json.prev',
      '.checkpoints/old.checkpoint.jsonl.prev',
      'data/crawl_checkpoint.json',
      'deep/a/b/c/d/e/f/g/h/i/j/odd %23 # ü name?.checkpoint.json',
      'src/index.ts',
      'src/checkpoint.ts',
      'notes/checkpoint.txt',
      'x.checkpoint.lock/owner.json',
    ]);
    expect(await found(root)).toEqual(
      sorted([
        '.checkpoints/job.checkpoint.json',
        '.checkpoints/job.checkpoint.jsonl',
        '.checkpoints/job.checkpoint.ack',
        '.checkpoints/job.checkpoint.json.prev',
        '.checkpoints/old.checkpoint.jsonl.prev',
        'data/crawl_checkpoint.json',
        'deep/a/b/c/d/e/f/g/h/i/j/odd %23 # ü name?.checkpoint.json',
      ]),
    );
  });

  it('does not enter dependencies, files.exclude or checkpointkit.exclude folders, nor list excluded files', async () => {
    const root = workspace([
      'keep/a.checkpoint.json',
      'node_modules/pkg/a.checkpoint.json',
      'packages/x/node_modules/pkg/b.checkpoint.json',
      '.git/c.checkpoint.json',
      'build/d.checkpoint.json',
      'packages/x/build/e.checkpoint.json',
      'tmp/f.checkpoint.json',
      'keep/g.checkpoint.json.bak',
      'keep/scratch.checkpoint.json',
    ]);
    const settings = {
      filesExclude: { build: true, '**/tmp': { when: '$(basename).ts' }, '**/scratch*': true },
      exclude: ['./packages/*/build/**'],
    };
    // `tmp` is excluded only under a `when` clause, which discovery does not evaluate.
    expect(await found(root, settings)).toEqual(
      sorted(['keep/a.checkpoint.json', 'tmp/f.checkpoint.json']),
    );
  });

  it('follows symbolic links to files and folders, enters each folder once (a link loop ends), and skips dangling links', async () => {
    const root = workspace(['real/a.checkpoint.json', 'other/b.checkpoint.jsonl']);
    const outside = workspace(['c.checkpoint.json']);
    symlinkSync(join(root, 'real'), join(root, 'real', 'loop')); // a folder linking to itself
    symlinkSync(root, join(root, 'other', 'up')); // and one to the root
    symlinkSync(outside, join(root, 'linked')); // a folder outside the workspace
    symlinkSync(join(root, 'real', 'a.checkpoint.json'), join(root, 'alias.checkpoint.json'));
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling.checkpoint.json'));
    expect(await found(root)).toEqual(
      sorted([
        'real/a.checkpoint.json',
        'other/b.checkpoint.jsonl',
        'linked/c.checkpoint.json',
        'alias.checkpoint.json',
      ]),
    );
  });

  it('searches below a folder of the workspace with folder-relative patterns', async () => {
    const root = workspace([
      'jobs/new/a.checkpoint.json',
      'jobs/new/data/checkpoint-1.json',
      'jobs/other.checkpoint.json',
      'outside.checkpoint.json',
    ]);
    const { paths } = await walkFiles(
      root,
      'jobs/new',
      patterns({ seedFiles: ['jobs/new/data/*.json'] }),
      100,
    );
    expect(sorted(paths)).toEqual(
      sorted(['jobs/new/a.checkpoint.json', 'jobs/new/data/checkpoint-1.json']),
    );
  });

  it('stops at the limit and says so; a folder that is gone finds nothing', async () => {
    const files = Array.from({ length: 50 }, (_, i) => `d${i % 7}/f${i}.checkpoint.json`);
    const root = workspace(files);
    const capped = await walkFiles(root, '', patterns(), 20);
    expect(capped.paths).toHaveLength(20);
    expect(capped.truncated).toBe(true);
    expect(new Set(capped.paths).size).toBe(20);
    for (const path of capped.paths) expect(files).toContain(path);
    const exact = await walkFiles(root, '', patterns(), 50);
    expect(exact).toMatchObject({ truncated: false });
    expect(sorted(exact.paths)).toEqual(sorted(files));
    expect(await walkFiles(join(root, 'gone'), '', patterns(), 50)).toEqual({
      paths: [],
      truncated: false,
    });
  });
});

describe('walkFiles: slices', () => {
  it('walks in slices, letting queued work run between them, and finds the same files as in one go', async () => {
    const files = Array.from(
      { length: 400 },
      (_, i) => `d${i % 40}/e${i % 3}/f${i}.checkpoint.json`,
    );
    const root = workspace(files);
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      ticks += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const sliced = await walkFiles(root, '', patterns(), 1000, { sliceMs: 0 });
    ticking = false;
    // One folder a slice (a budget of 0 ms): the other work ran between them.
    expect(ticks).toBeGreaterThan(100);
    const whole = await walkFiles(root, '', patterns(), 1000, { sliceMs: 60_000 });
    expect(sorted(sliced.paths)).toEqual(sorted(files));
    expect(sorted(whole.paths)).toEqual(sorted(files));
  });

  it('stops when cancelled, between slices', async () => {
    const root = workspace(Array.from({ length: 50 }, (_, i) => `d${i}/f.checkpoint.json`));
    let cancelled = false;
    const token = {
      get isCancellationRequested() {
        return cancelled;
      },
      onCancellationRequested: () => ({ dispose() {} }),
    };
    setImmediate(() => {
      cancelled = true;
    });
    const result = await walkFiles(root, '', patterns(), 1000, { sliceMs: 0, token });
    expect(result).toEqual({ paths: [], truncated: false });
  });
});
