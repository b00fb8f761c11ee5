/**
 * Discovery's search in a `file:` folder: a walk of its folders with Node's fs, filtered by the
 * same matchers the file watcher's events go through. Synchronous: it runs in a worker thread of
 * its own (walk-thread.ts), where nothing else waits on it.
 *
 * Why not `workspace.findFiles` there: its request goes through the workbench to the search
 * service (ripgrep in a process of its own) and back. In code-server on a 2-core machine that
 * took 1.3–1.8 s from activation even for a workspace of 20 files. Why a thread: walked with
 * fs/promises on the extension host's event loop, the benchmark's 20,000 files (600 folders) took
 * 1.8–2.7 s there, each of the 1,200 awaits queued behind the other extensions starting (the
 * walk's own matching was 0.1 s of it); the same walk in a plain Node process took 44–142 ms.
 */
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type DiscoveryPatterns, isLeftover } from './globs.js';

export interface WalkResult {
  /** Paths relative to the workspace folder, `/` separated. */
  paths: string[];
  /** The walk stopped at `limit` matches: some files may be missing. */
  truncated: boolean;
}

/**
 * Files below `start` (a path relative to the workspace folder at `root`, `''` for all of it)
 * that `patterns` include, or that a checkpoint leaves beside it (see LEFTOVER_GLOB), and do not
 * exclude, up to `limit`. Excluded folders are not entered. Hidden files are found; symbolic links
 * are followed (as the workspace search does), each folder entered once, so a link loop ends.
 * Folders that cannot be read (gone, no permission) are skipped, as the search skips them.
 */
export function walkFiles(
  root: string,
  start: string,
  patterns: DiscoveryPatterns,
  limit: number,
): WalkResult {
  const paths: string[] = [];
  const entered = new Set<string>();
  const queue: string[] = [start];
  for (let next = 0; next < queue.length; next++) {
    const dir = queue[next]!;
    const absolute = join(root, dir);
    let entries: Dirent[];
    try {
      // Entered once by identity: a link back to an ancestor (or to a folder seen before) ends here.
      const { dev, ino } = statSync(absolute);
      const identity = `${dev}:${ino}`;
      if (entered.has(identity)) continue;
      entered.add(identity);
      entries = readdirSync(absolute, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = statSync(join(absolute, entry.name), { throwIfNoEntry: false });
        isDirectory = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDirectory) {
        if (!patterns.isExcluded(path)) queue.push(path);
      } else if (isFile && wanted(patterns, path)) {
        if (paths.length >= limit) return { paths, truncated: true };
        paths.push(path);
      }
    }
  }
  return { paths, truncated: false };
}

function wanted(patterns: DiscoveryPatterns, path: string): boolean {
  return (patterns.isIncluded(path) || isLeftover(path)) && !patterns.isExcluded(path);
}
