import { describe, expect, it } from 'vitest';
import {
  combineGlobs,
  discoveryPatterns,
  enabledExcludes,
  expandGlobs,
  pathMatcher,
} from '../../src/discovery/globs.js';

describe('discovery globs', () => {
  it('takes the switched-on files.exclude patterns only', () => {
    expect(
      enabledExcludes({
        '**/.git': true,
        '**/*.js': { when: '$(basename).ts' },
        '**/out': false,
        '**/tmp': true,
      }),
    ).toEqual(['**/.git', '**/tmp']);
    expect(enabledExcludes(undefined)).toEqual([]);
  });

  it('expands braces, since VS Code globs do not nest them', () => {
    expect(expandGlobs(['**/*.{js,map}', './out/**', ' ', '/abs/**'])).toEqual([
      '**/*.js',
      '**/*.map',
      'out/**',
      'abs/**',
    ]);
    expect(combineGlobs(['**/a/**', '**/b.{x,y}'])).toBe('{**/a/**,**/b.x,**/b.y}');
    expect(combineGlobs(['one/**'])).toBe('one/**');
    expect(combineGlobs([])).toBeNull();
  });

  it('matches a path or any of its parent folders, dot files included', () => {
    const excluded = pathMatcher(['**/.git', 'build', '**/node_modules/**']);
    expect(excluded('.git/x.checkpoint.json')).toBe(true);
    expect(excluded('sub/.git/objects/x.checkpoint.json')).toBe(true);
    expect(excluded('build/a/b.checkpoint.json')).toBe(true);
    expect(excluded('src/build.checkpoint.json')).toBe(false);
    expect(excluded('a/node_modules/pkg/x.checkpoint.json')).toBe(true);
    expect(excluded('.checkpoints/x.checkpoint.json')).toBe(false);
  });

  const patterns = discoveryPatterns({
    filesExclude: { '**/generated': true },
    exclude: ['legacy/**'],
    seedFiles: [],
  });

  it('includes file store files and seed candidates', () => {
    for (const path of [
      '.checkpoints/job.checkpoint.json',
      'a/job.checkpoint.jsonl',
      'checkpoint.json',
      '.checkpoint_fetch.json',
      '.migration_checkpoint.json',
    ]) {
      expect(patterns.isIncluded(path), path).toBe(true);
    }
    expect(patterns.isIncluded('package.json')).toBe(false);
    expect(patterns.isSeedCandidate('data/raw/checkpoint.json')).toBe(true);
    expect(patterns.isSeedCandidate('a/job.checkpoint.jsonl')).toBe(false);
  });

  it('excludes dependencies, files.exclude and checkpointkit.exclude', () => {
    expect(patterns.isExcluded('node_modules/x/.checkpoints/a.checkpoint.json')).toBe(true);
    expect(patterns.isExcluded('src/generated/a.checkpoint.json')).toBe(true);
    expect(patterns.isExcluded('legacy/a.checkpoint.json')).toBe(true);
    expect(patterns.isExcluded('.checkpoints/a.checkpoint.json')).toBe(false);
    expect(patterns.exclude).toContain('**/node_modules/**');
    expect(patterns.exclude).toContain('**/generated');
    expect(patterns.exclude).toContain('legacy/**');
  });

  it('uses the configured seed patterns instead of the default', () => {
    const custom = discoveryPatterns({
      filesExclude: {},
      exclude: [],
      seedFiles: ['state/*.json'],
    });
    expect(custom.isSeedCandidate('state/progress.json')).toBe(true);
    expect(custom.isSeedCandidate('checkpoint.json')).toBe(false);
    expect(custom.include).toBe('{**/*.checkpoint.json,**/*.checkpoint.jsonl,state/*.json}');
  });
});

describe('discovery globs from a stranger’s settings', () => {
  // `.vscode/settings.json` is a file of the workspace: its `files.exclude`,
  // `checkpointkit.exclude` and `checkpointkit.seedFiles` are anyone's.
  const bomb = `**/${'{a,b}'.repeat(20)}/**`; // 2^20 patterns once expanded
  const range = '**/{0..2000}.log'; // past braces' range limit, where it throws

  it('uses a pattern as written when its braces would expand to too many patterns', () => {
    expect(expandGlobs([range, '**/*.{js,map}'])).toEqual([range, '**/*.js', '**/*.map']);
    expect(expandGlobs([bomb])).toEqual([bomb]);
    // The workspace search, whose glob cannot nest braces, goes without it.
    expect(combineGlobs([bomb, '**/x'])).toBe('**/x');
  });

  it('still searches with such patterns, and still excludes dependencies', () => {
    const patterns = discoveryPatterns({
      filesExclude: { [range]: true, [bomb]: true },
      exclude: [bomb],
      seedFiles: [bomb],
    });
    expect(patterns.isExcluded('node_modules/x.checkpoint.json')).toBe(true);
    expect(patterns.isExcluded(`${'ab'.repeat(10)}/x.checkpoint.json`)).toBe(true);
    expect(patterns.isExcluded('.checkpoints/x.checkpoint.json')).toBe(false);
  });
});
