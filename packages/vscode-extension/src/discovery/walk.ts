/**
 * Discovery's search in a `file:` folder: a walk of its folders with Node's fs in the extension
 * host, filtered by the same matchers the file watcher's events go through.
 *
 * Why not `workspace.findFiles` there: its request goes through the workbench to the search
 * service (ripgrep in a process of its own) and back. In code-server on a 2-core machine that
 * took 0.5–2.2 s from activation even for a workspace of 20 files. Why synchronous, in slices:
 * walked with fs/promises, the benchmark's 20,000 files (600 folders) took 1.8–2.7 s after
 * activation, each of its 1,200 awaits queued behind the other extensions starting (its own
 * matching was 0.1 s of it); in a worker thread 1.0–1.2 s, and 0.5 s for 20 files, the thread's
 * start being most of it on a loaded machine. The same walk in a plain Node process takes
 * 44–142 ms.
 */
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type * as vscode from 'vscode';
import { type DiscoveryPatterns, isLeftover } from './globs.js';

/** The longest the walk holds the extension host's event loop at a time, in ms. */
const SLICE_MS = 12;

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
 *
 * Synchronous, in slices: the walk holds the event loop about `sliceMs` at a time (a folder is
 * read whole, so one of 100,000 entries holds it longer) and then lets everything queued run
 * before it goes on. A folder on a network mount that hangs holds the extension host until the
 * mount answers; with fs/promises it would hold the host's 4 file-system threads instead, which
 * every extension's file operations wait for as well.
 */
export async function walkFiles(
  root: string,
  start: string,
  patterns: DiscoveryPatterns,
  limit: number,
  options: { sliceMs?: number; token?: vscode.CancellationToken } = {},
): Promise<WalkResult> {
  const walk = new Walk(root, start, patterns, limit);
  const sliceMs = options.sliceMs ?? SLICE_MS;
  while (!walk.step(sliceMs)) {
    await new Promise((resolve) => setImmediate(resolve));
    if (options.token?.isCancellationRequested) return { paths: [], truncated: false };
  }
  return walk.result;
}

/** A walk that goes on where it stopped: one folder at a time, breadth first. */
class Walk {
  readonly #paths: string[] = [];
  readonly #entered = new Set<string>();
  readonly #queue: string[];
  #next = 0; // #queue[#next] is the next folder to read (no shift: a queue of 100,000 folders)
  #truncated = false;

  constructor(
    private readonly root: string,
    start: string,
    private readonly patterns: DiscoveryPatterns,
    private readonly limit: number,
  ) {
    this.#queue = [start];
  }

  get result(): WalkResult {
    return { paths: this.#paths, truncated: this.#truncated };
  }

  /** Reads folders for about `budgetMs`; true when the walk is done. */
  step(budgetMs: number): boolean {
    const end = performance.now() + budgetMs;
    while (this.#next < this.#queue.length && !this.#truncated) {
      this.#visit(this.#queue[this.#next++]!);
      if (performance.now() >= end) break;
    }
    return this.#next >= this.#queue.length || this.#truncated;
  }

  #visit(dir: string): void {
    const absolute = join(this.root, dir);
    let entries: Dirent[];
    try {
      // Entered once by identity: a link back to an ancestor (or to a folder seen before) ends here.
      const { dev, ino } = statSync(absolute);
      const identity = `${dev}:${ino}`;
      if (this.#entered.has(identity)) return;
      this.#entered.add(identity);
      entries = readdirSync(absolute, { withFileTypes: true });
    } catch {
      return;
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
        if (!this.patterns.isExcluded(path)) this.#queue.push(path);
      } else if (isFile && wanted(this.patterns, path)) {
        if (this.#paths.length >= this.limit) {
          this.#truncated = true;
          return;
        }
        this.#paths.push(path);
      }
    }
  }
}

function wanted(patterns: DiscoveryPatterns, path: string): boolean {
  return (patterns.isIncluded(path) || isLeftover(path)) && !patterns.isExcluded(path);
}
