/**
 * The previous generation: before a compaction replaces the snapshot and the journal, it keeps
 * them under `<name>.prev` (hard links, so nothing is copied). Until the next compaction there
 * are then two ways to the current state: the snapshot plus the journal, and the previous
 * snapshot plus the previous journal plus the journal. A damaged snapshot (one flipped byte
 * fails its crc32) no longer costs the history before it: `repair` goes the other way.
 */
import { link, unlink } from 'node:fs/promises';
import type { CheckpointPaths } from './files.js';
import { fsyncDir, isMissing } from './io.js';

/** Why a file system may refuse a hard link: then the generation is not kept (see the README). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS', 'EXDEV']);

async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

/**
 * Makes the current snapshot and journal the previous generation, durably, before a compaction
 * replaces them. A file that does not exist leaves no previous file (an older one would not
 * fit the journal kept beside it). Returns false when the file system has no hard links.
 */
export async function keepPreviousGeneration(
  at: CheckpointPaths,
  dir: string,
  has: { snapshot: boolean; journal: boolean },
): Promise<boolean> {
  let linked = true;
  for (const [current, previous, exists] of [
    [at.snapshot, at.previousSnapshot, has.snapshot],
    [at.journal, at.previousJournal, has.journal],
  ] as const) {
    await removeIfPresent(previous);
    if (!exists || !linked) continue;
    try {
      await link(current, previous);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (!NO_LINKS.has(code)) throw error;
      linked = false;
      // Half a generation would not fit together: keep none.
      await removeIfPresent(at.previousSnapshot);
    }
  }
  await fsyncDir(dir);
  return linked;
}

/** Removes the previous generation (delete): first of all, so it never outlives its checkpoint. */
export async function removePreviousGeneration(at: CheckpointPaths): Promise<boolean> {
  let found = false;
  for (const file of [at.previousSnapshot, at.previousJournal]) {
    try {
      await unlink(file);
      found = true;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return found;
}
