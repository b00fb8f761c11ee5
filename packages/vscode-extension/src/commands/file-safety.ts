/**
 * Whether an edit may write a checkpoint's files. The file store follows symbolic links when it
 * appends to the journal or writes the ack mark, so a workspace that links its checkpoint folder,
 * or one of the checkpoint's files, somewhere else would have an edit (or Migrate, through a
 * dangling link) write outside the workspace. Edits therefore write only regular files in a
 * folder that lies inside the workspace folder once every link is resolved. Node's fs only: the
 * commands check this on the local disk, just before they take the lock and again once they hold it.
 */
import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { checkpointFileName, checkpointFilesOf } from '@checkpointkit/storage-file';

function isInside(parent: string, child: string): boolean {
  const path = relative(parent, child);
  return path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path);
}

/**
 * Why the files of checkpoint `id` in the folder `dir` must not be written from the workspace
 * folder `root`, or null when they may. Files that do not exist yet are fine.
 */
export async function whyNotWritable(
  root: string,
  dir: string,
  id: string,
): Promise<string | null> {
  let realDir: string;
  try {
    realDir = await realpath(dir);
  } catch (error) {
    return `its folder cannot be resolved (${(error as NodeJS.ErrnoException).code ?? error})`;
  }
  const realRoot = await realpath(root).catch(() => root);
  if (!isInside(realRoot, realDir))
    return `its folder is ${realDir} through a symbolic link, outside the workspace folder`;
  const names = checkpointFilesOf(checkpointFileName(id))!;
  for (const [role, name] of Object.entries(names)) {
    const info = await lstat(join(dir, name)).catch(() => null);
    if (!info) continue;
    if (info.isSymbolicLink()) return `${name} is a symbolic link`;
    // The lock is a folder; the others are files the store reads or appends to.
    if (role !== 'lock' && !info.isFile()) return `${name} is not a regular file`;
  }
  return null;
}
