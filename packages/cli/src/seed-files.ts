import { readdir, readFile, realpath } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
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
 * File systems that hold no files anyone wrote: the kernel's views of processes and devices, and
 * automounts (walking one mounts a network share). `ls --dir /` walked /proc for seconds.
 */
const PSEUDO_FILE_SYSTEMS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'debugfs',
  'tracefs',
  'securityfs',
  'pstore',
  'bpf',
  'configfs',
  'fusectl',
  'mqueue',
  'hugetlbfs',
  'binfmt_misc',
  'efivarfs',
  'selinuxfs',
  'autofs',
  'rpc_pipefs',
  'nsfs',
]);

/**
 * Skipped by path too: where /proc/self/mountinfo cannot be read (not Linux), and /dev, which a
 * container mounts as a plain tmpfs.
 */
const PSEUDO_PATHS = ['/proc', '/sys', '/dev'];

/** The mount points of pseudo file systems (absolute paths), plus {@link PSEUDO_PATHS}. */
async function pseudoMounts(): Promise<Set<string>> {
  const skipped = new Set(PSEUDO_PATHS);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  for (const line of mountinfo.split('\n')) {
    // `36 35 98:0 / /mnt/point rw,noatime master:1 - ext3 /dev/root rw`: the mount point is the
    // fifth field, the file system type the first after ` - `; spaces in a path are `\040`.
    const mountPoint = line.split(' ')[4];
    const type = line.split(' - ')[1]?.split(' ')[0];
    if (mountPoint && type && PSEUDO_FILE_SYSTEMS.has(type)) {
      skipped.add(
        mountPoint.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8))),
      );
    }
  }
  return skipped;
}

/**
 * Finds the seed-format checkpoint files below `dir` and reads each with core's readers. A file
 * with no field of any known format is not a checkpoint and is skipped; one close to a format
 * but refused is reported with core's message, which names the field that did not fit. Pseudo
 * file systems (/proc, /sys, /dev) are not searched, nor is a `dir` inside one.
 */
export async function findSeedFiles(dir: string): Promise<SeedSearch> {
  const search: SeedSearch = { found: [], refused: [] };
  const skipped = await pseudoMounts();
  const absolute = await realpath(dir).catch(() => resolve(dir));
  const inside = [...skipped].some(
    (mount) => absolute === mount || absolute.startsWith(mount === '/' ? mount : `${mount}/`),
  );
  if (!inside) await walk({ root: dir, skipped, search }, dir, absolute, 0);
  search.found.sort((a, b) => a.file.localeCompare(b.file));
  search.refused.sort((a, b) => a.file.localeCompare(b.file));
  return search;
}

interface Walk {
  /** The folder searched, as given: paths in messages start with it. */
  root: string;
  skipped: Set<string>;
  search: SeedSearch;
}

/** `dir` as messages give it; `absolute` its real path, compared with the skipped mounts. */
async function walk(at: Walk, dir: string, absolute: string, depth: number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // A symbolic link is neither a directory nor a file here: links are not followed.
    if (entry.isDirectory()) {
      const below = join(absolute, entry.name);
      if (depth < MAX_DEPTH && !SKIPPED.has(entry.name) && !at.skipped.has(below)) {
        await walk(at, path, below, depth + 1);
      }
    } else if (entry.isFile() && mayBeSeedFile(entry.name)) {
      await readOne(at.root, path, at.search);
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
