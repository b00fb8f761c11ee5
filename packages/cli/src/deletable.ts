import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ACK_SUFFIX,
  encodeCheckpointId,
  JOURNAL_SUFFIX,
  PREVIOUS_SUFFIX,
  SNAPSHOT_SUFFIX,
} from '@checkpointkit/storage-file';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/**
 * Refuses to delete (`rm`, `migrate --force`) a file store checkpoint one of whose file names a folder holds (most likely
 * someone's own, never deleted with its contents). The store deletes the files one by one and stops
 * at the first it cannot unlink: a folder named like the journal left the checkpoint without its
 * snapshot, previous generation and ack mark, and `rm` failed (measured). Looked at first, under
 * the lock, nothing is deleted unless everything can be.
 */
export async function checkDeletable(dir: string, id: string, verb: string): Promise<void> {
  const stem = encodeCheckpointId(id);
  const names = [SNAPSHOT_SUFFIX, JOURNAL_SUFFIX].flatMap((suffix) => [
    stem + suffix,
    stem + suffix + PREVIOUS_SUFFIX,
  ]);
  for (const name of [...names, stem + ACK_SUFFIX]) {
    const file = join(dir, name);
    const info = await lstat(file).catch(() => null);
    // Only a folder: unlink takes anything else (a link, a pipe) without touching what it names.
    if (info?.isDirectory()) {
      throw new CliError(
        `${file}: it is a folder, not a file: ${verb} deletes a checkpoint's files only, so nothing was deleted (move the folder away first)`,
        EXIT.DAMAGED,
      );
    }
  }
}
