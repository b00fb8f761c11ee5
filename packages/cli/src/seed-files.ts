import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  type CheckpointSummary,
  errorMessage,
  parseCheckpointJson,
  summarize,
} from '@checkpointkit/core';
import { DEFAULT_MAX_SIZE, formatSize } from './size.js';
import { FileTooLargeError, sniffFile } from './sniff.js';

/** A seed-format checkpoint file found beside a store: its format and its summary. */
export interface SeedListing {
  /** The file, relative to the folder searched. */
  file: string;
  format: string;
  summary: CheckpointSummary;
}

/** What a search found: files read, and files that look like checkpoints but were refused. */
export interface SeedSearch {
  found: SeedListing[];
  refused: { file: string; message: string }[];
}

/** How deep below the folder to look: seed 003 keeps its file in `data/raw/year=…/target=…/`. */
const MAX_DEPTH = 6;

/** Folders never searched: dependencies, VCS data, virtualenvs and caches. */
const SKIPPED = new Set([
  'node_modules',
  '.git',
  '.hg',
  '.svn',
  '.venv',
  'venv',
  '__pycache__',
  '.turbo',
  '.pnpm-store',
  '.cache',
]);

/**
 * A file that may hold a seed checkpoint: `*checkpoint*.json` (seed 000's
 * `.migration_checkpoint.json`, seed 002's `.checkpoint_<id>.json`, seed 003's
 * `checkpoint.json`), but not the file store's own `<id>.checkpoint.json`, which `ls` lists
 * from the store. The content decides the format, as in the VS Code extension.
 */
export function mayBeSeedFile(name: string): boolean {
  return /checkpoint.*\.json$/i.test(name) && !name.endsWith('.checkpoint.json');
}

/**
 * Finds the seed-format checkpoint files below `dir` and reads each with core's readers. A file
 * with no field of any known format is not a checkpoint and is skipped; one close to a format
 * but refused is reported with core's message, which names the field that did not fit.
 */
export async function findSeedFiles(dir: string): Promise<SeedSearch> {
  const search: SeedSearch = { found: [], refused: [] };
  await walk(dir, dir, 0, search);
  search.found.sort((a, b) => a.file.localeCompare(b.file));
  search.refused.sort((a, b) => a.file.localeCompare(b.file));
  return search;
}

async function walk(root: string, dir: string, depth: number, search: SeedSearch): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < MAX_DEPTH && !SKIPPED.has(entry.name)) await walk(root, path, depth + 1, search);
    } else if (entry.isFile() && mayBeSeedFile(entry.name)) {
      await readOne(root, path, search);
    }
  }
}

async function readOne(root: string, path: string, search: SeedSearch): Promise<void> {
  const file = relative(root, path) || path;
  // Looked at first, as `show <file>` does: a huge or binary file someone named *checkpoint*.json
  // was read whole (memory several times its size) for a parse error at its end.
  try {
    await sniffFile(path, DEFAULT_MAX_SIZE);
  } catch (error) {
    const message =
      error instanceof FileTooLargeError
        ? `${path}: ${formatSize(error.size)}, over the ${formatSize(error.limit)} limit for a checkpoint file; it was not read (show it with --max-size to read a larger one)`
        : errorMessage(error);
    search.refused.push({ file, message });
    return;
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    search.refused.push({ file, message: `cannot read ${file}: ${errorMessage(error)}` });
    return;
  }
  try {
    const { format, checkpoint } = parseCheckpointJson(text, { file: path });
    search.found.push({ file, format, summary: summarize(checkpoint) });
  } catch (error) {
    const message = errorMessage(error);
    // A JSON file of another tool that happens to be named *checkpoint*: not ours to judge.
    if (!/none of its fields belongs to a known format/.test(message)) {
      search.refused.push({ file, message });
    }
  }
}
