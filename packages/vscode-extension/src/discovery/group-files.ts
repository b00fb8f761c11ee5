/**
 * Found files into checkpoints: a file store checkpoint is its snapshot and journal (either may be
 * missing), grouped by folder and file-name stem; any other candidate file is one possible seed
 * checkpoint, recognised later by its content. Pure.
 */
import {
  ACK_SUFFIX,
  checkpointStemFromFileName,
  decodeCheckpointStem,
  PREVIOUS_SUFFIX,
  SNAPSHOT_SUFFIX,
} from '@checkpointkit/storage-file';

export interface CanonicalFiles<T> {
  kind: 'canonical';
  /** Stable identity: folder plus stem. */
  key: string;
  stem: string;
  /** The id the name encodes; null for ids too long for a file name (read from the content). */
  id: string | null;
  snapshot: T | null;
  journal: T | null;
  /**
   * A file the store keeps beside them (the previous generation, the ack mark), or null. It
   * keeps the checkpoint in view when its snapshot and journal were removed by hand: the store
   * then refuses to open it, and the view says so instead of forgetting it.
   */
  leftover: T | null;
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

export type FileStoreRole = 'snapshot' | 'journal' | 'leftover';

/** The stem and role of a file store file name, or null for any other name. */
export function fileStoreName(name: string): { stem: string; role: FileStoreRole } | null {
  const stem = checkpointStemFromFileName(name);
  if (stem !== null) return { stem, role: name.endsWith('.jsonl') ? 'journal' : 'snapshot' };
  // `<stem>.checkpoint.json.prev`, `<stem>.checkpoint.jsonl.prev`, `<stem>.checkpoint.ack`.
  const base = name.endsWith(PREVIOUS_SUFFIX)
    ? name.slice(0, -PREVIOUS_SUFFIX.length)
    : name.endsWith(ACK_SUFFIX)
      ? name.slice(0, -ACK_SUFFIX.length) + SNAPSHOT_SUFFIX
      : null;
  const leftover = base === null ? null : checkpointStemFromFileName(base);
  return leftover === null ? null : { stem: leftover, role: 'leftover' };
}

/** A file of the checkpoint that was found (where its folder is). */
export function anyFileOf<T>(files: CanonicalFiles<T>): T {
  return (files.snapshot ?? files.journal ?? files.leftover)!;
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
          id: decodeCheckpointStem(store.stem),
          snapshot: null,
          journal: null,
          leftover: null,
        };
        groups.set(key, group);
      }
      if (store.role === 'leftover') group.leftover ??= file;
      else group[store.role] = file;
    } else if (name.endsWith('.json') && isSeedCandidate(file)) {
      const key = `${dir}/${name}`;
      groups.set(key, { kind: 'seed', key, file });
    }
  }
  return [...groups.values()];
}
