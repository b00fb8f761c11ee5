/**
 * Which files discovery looks at and which it leaves alone, as glob patterns relative to a
 * workspace folder. Pure: the same patterns go to `workspace.findFiles` and filter the file
 * watcher's events.
 */
import braces from 'braces';
import picomatch from 'picomatch';

/** Snapshots and journals of the file store (`<id>.checkpoint.json`, `<id>.checkpoint.jsonl`). */
export const CANONICAL_GLOBS = ['**/*.checkpoint.json', '**/*.checkpoint.jsonl'] as const;

/** Files that may hold a seed-format checkpoint; their content decides (default of `checkpointkit.seedFiles`). */
export const DEFAULT_SEED_GLOBS = ['**/*checkpoint*.json'] as const;

/** What the one file watcher watches: checkpoint files and their journals only. */
export const WATCH_GLOB = '**/*checkpoint*.{json,jsonl}';

/** Folders never searched, whatever the settings say: dependencies, VCS data, caches. */
export const ALWAYS_EXCLUDED = [
  '**/node_modules/**',
  '**/.git/**',
  '**/.hg/**',
  '**/.svn/**',
  '**/bower_components/**',
  '**/.venv/**',
  '**/venv/**',
  '**/__pycache__/**',
  '**/.turbo/**',
  '**/.next/**',
  '**/.pnpm-store/**',
  '**/.yarn/**',
] as const;

/** The patterns of a `files.exclude` value that are switched on (`true`; `when` clauses are skipped). */
export function enabledExcludes(setting: unknown): string[] {
  if (!setting || typeof setting !== 'object') return [];
  return Object.entries(setting)
    .filter(([, value]) => value === true)
    .map(([pattern]) => pattern);
}

/** Strips `./` and a leading `/` that users write, and drops empty patterns. */
function clean(globs: Iterable<string>): string[] {
  const out: string[] = [];
  for (const glob of globs) {
    const trimmed = glob.trim().replace(/^\.\//, '').replace(/^\//, '');
    if (trimmed) out.push(trimmed);
  }
  return out;
}

/** Patterns with their braces expanded: VS Code's glob does not nest `{}` groups. */
export function expandGlobs(globs: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const glob of clean(globs)) for (const expanded of braces.expand(glob)) out.add(expanded);
  return [...out];
}

/** Several patterns as one VS Code glob (`{a,b}`), or null when there are none. */
export function combineGlobs(globs: Iterable<string>): string | null {
  const all = expandGlobs(globs);
  if (all.length === 0) return null;
  return all.length === 1 ? all[0]! : `{${all.join(',')}}`;
}

/**
 * A test for folder-relative paths (`a/b/x.checkpoint.json`, `/` separated): true when a pattern
 * matches the path or one of its parent folders, as search excludes work.
 */
export function pathMatcher(globs: Iterable<string>): (relativePath: string) => boolean {
  const patterns = expandGlobs(globs);
  if (patterns.length === 0) return () => false;
  const match = picomatch(patterns, { dot: true });
  return (relativePath) => {
    if (match(relativePath)) return true;
    let end = relativePath.lastIndexOf('/');
    while (end > 0) {
      if (match(relativePath.slice(0, end))) return true;
      end = relativePath.lastIndexOf('/', end - 1);
    }
    return false;
  };
}

/** What discovery searches in one workspace folder. */
export interface DiscoveryPatterns {
  include: string;
  exclude: string | null;
  isIncluded(relativePath: string): boolean;
  isExcluded(relativePath: string): boolean;
  isSeedCandidate(relativePath: string): boolean;
}

/** The patterns for a folder from its settings: `files.exclude`, `checkpointkit.exclude`, `checkpointkit.seedFiles`. */
export function discoveryPatterns(settings: {
  filesExclude: unknown;
  exclude: readonly string[];
  seedFiles: readonly string[];
}): DiscoveryPatterns {
  const seeds = settings.seedFiles.length > 0 ? settings.seedFiles : DEFAULT_SEED_GLOBS;
  const includes = [...CANONICAL_GLOBS, ...seeds];
  const excludes = [
    ...ALWAYS_EXCLUDED,
    ...enabledExcludes(settings.filesExclude),
    ...settings.exclude,
  ];
  return {
    include: combineGlobs(includes)!,
    exclude: combineGlobs(excludes),
    isIncluded: pathMatcher(includes),
    isExcluded: pathMatcher(excludes),
    isSeedCandidate: pathMatcher(seeds),
  };
}
