/**
 * Found files into checkpoints: a file store checkpoint is its snapshot and journal (either may be
 * missing), grouped by folder and file-name stem; any other candidate file is one possible seed
 * checkpoint, recognised later by its content. Pure.
 */
import { checkpointIdFromFileName, checkpointStemFromFileName } from '@checkpointkit/storage-file';

export interface CanonicalFiles<T> {
  kind: 'canonical';
  /** Stable identity: folder plus stem. */
  key: string;
  stem: string;
  /** The id the name encodes; null for ids too long for a file name (read from the content). */
  id: string | null;
  snapshot: T | null;
  journal: T | null;
}

export interface SeedFile<T> {
  kind: 'seed';
  key: string;
  file: T;
}

export type CheckpointFiles<T> = CanonicalFiles<T> | SeedFile<T>;

/** Where a file lives: its folder (any stable string, such as a URI) and its name. */
export interface FileName {
  dir: string;
  name: string;
}

/** The stem and role of a file store file name, or null for any other name. */
export function fileStoreName(name: string): { stem: string; role: 'snapshot' | 'journal' } | null {
  const stem = checkpointStemFromFileName(name);
  if (stem === null) return null;
  return { stem, role: name.endsWith('.jsonl') ? 'journal' : 'snapshot' };
}

export function canonicalKey(dir: string, stem: string): string {
  return `${dir}/${stem}.checkpoint`;
}

/**
 * Groups files into checkpoints, in the order their first file is given. `isSeedCandidate` says
 * which other files may hold a seed checkpoint; the rest are ignored.
 */
export function groupCheckpointFiles<T>(
  files: Iterable<T>,
  describe: (file: T) => FileName,
  isSeedCandidate: (file: T) => boolean,
): CheckpointFiles<T>[] {
  const groups = new Map<string, CheckpointFiles<T>>();
  for (const file of files) {
    const { dir, name } = describe(file);
    const store = fileStoreName(name);
    if (store) {
      const key = canonicalKey(dir, store.stem);
      let group = groups.get(key);
      if (group?.kind !== 'canonical') {
        group = {
          kind: 'canonical',
          key,
          stem: store.stem,
          id: checkpointIdFromFileName(name),
          snapshot: null,
          journal: null,
        };
        groups.set(key, group);
      }
      group[store.role] = file;
    } else if (name.endsWith('.json') && isSeedCandidate(file)) {
      const key = `${dir}/${name}`;
      groups.set(key, { kind: 'seed', key, file });
    }
  }
  return [...groups.values()];
}
