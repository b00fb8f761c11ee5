/**
 * Which files discovery looks at and which it leaves alone, as glob patterns relative to a
 * workspace folder. Pure: the same patterns go to `workspace.findFiles` and filter the file
 * watcher's events.
 */
import braces from 'braces';
import picomatch from 'picomatch';

/** Snapshots and journals of the file store (`<id>.checkpoint.json`, `<id>.checkpoint.jsonl`). */
export const CANONICAL_GLOBS = ['**/*.checkpoint.json', '**/*.checkpoint.jsonl'] as const;

/**
 * Files the store keeps beside a snapshot and journal: the previous generation and the ack mark.
 * Searched with the checkpoint files, with room of their own (every checkpoint has some, and
 * they must not use up `checkpointkit.maxFiles`): they matter when the snapshot and journal were removed by hand.
 */
export const LEFTOVER_GLOB = '**/*.checkpoint.{ack,json.prev,jsonl.prev}';

/** Whether a path (or name) is one of {@link LEFTOVER_GLOB}'s. */
export function isLeftover(path: string): boolean {
  return /\.checkpoint\.(ack|json\.prev|jsonl\.prev)$/.test(path);
}

/** Files that may hold a seed-format checkpoint; their content decides (default of `checkpointkit.seedFiles`). */
export const DEFAULT_SEED_GLOBS = ['**/*checkpoint*.json'] as const;

/**
 * What the one file watcher watches: checkpoint files, their journals, lock folders, ack marks
 * and previous generations.
 */
export const WATCH_GLOB = '**/*checkpoint*.{json,jsonl,lock,ack,prev}';

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

/**
 * Most patterns one pattern's braces may expand to. The patterns come from settings that a
 * workspace's `.vscode/settings.json` may set: twenty `{a,b}` groups expanded to 2^20 patterns,
 * whose matchers filled 4 GB and ended the extension host, and a range past braces' limit
 * (`{0..2000}`) threw, which stopped discovery.
 */
export const MAX_EXPANDED = 256;

/**
 * An upper bound of how many patterns `glob`'s braces expand to, counted without expanding: the
 * product over every `{}` group of its alternatives (or its range's length), stopping past `limit`.
 */
export function expansionBound(glob: string, limit = MAX_EXPANDED): number {
  let bound = 1;
  const open: { start: number; commas: number }[] = [];
  for (let i = 0; i < glob.length && bound <= limit; i++) {
    const c = glob[i];
    if (c === '\\') i += 1;
    else if (c === '{') open.push({ start: i, commas: 0 });
    else if (c === ',' && open.length > 0) open.at(-1)!.commas += 1;
    else if (c === '}' && open.length > 0) {
      const group = open.pop()!;
      bound *= group.commas > 0 ? group.commas + 1 : rangeLength(glob.slice(group.start + 1, i));
    }
  }
  return bound;
}

/** The length of a brace range (`1..20`, `a..z`, `0..100..5`); 1 for anything else. */
function rangeLength(body: string): number {
  const match = /^(-?\d+|[a-zA-Z])\.\.(-?\d+|[a-zA-Z])(?:\.\.(-?\d+))?$/.exec(body);
  if (!match) return 1;
  const value = (end: string) => (/^-?\d+$/.test(end) ? Number(end) : end.charCodeAt(0));
  const step = Math.abs(Number(match[3] ?? 1)) || 1;
  return Math.floor(Math.abs(value(match[2]!) - value(match[1]!)) / step) + 1;
}

/**
 * Patterns with their braces expanded: VS Code's glob does not nest `{}` groups. A pattern that
 * would expand to more than {@link MAX_EXPANDED} is kept as written (picomatch reads its braces
 * itself; the workspace search may not).
 */
export function expandGlobs(globs: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const glob of clean(globs)) {
    if (expansionBound(glob) > MAX_EXPANDED) out.add(glob);
    else for (const expanded of braces.expand(glob)) out.add(expanded);
  }
  return [...out];
}

/** Several patterns as one VS Code glob (`{a,b}`), or null when there are none. */
export function combineGlobs(globs: Iterable<string>): string | null {
  // A pattern kept with its braces (see expandGlobs) would nest them inside `{a,b}`, which VS
  // Code's glob misreads: the search goes without it; the event filters (pathMatcher) keep it.
  const all = expandGlobs(globs).filter((glob) => expansionBound(glob) <= MAX_EXPANDED);
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
