import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { describeNonFile } from '@checkpointkit/storage-file';
import { CliError, NotFoundError, shellWord } from './errors.js';
import { EXIT } from './exit-codes.js';

/**
 * Refuses a folder of the file store that cannot be one, before any verb opens it: an empty
 * `--dir` (a script's unset variable, which would otherwise mean the working folder), a file
 * (most likely a checkpoint file given where its folder goes), or a path through a file. The
 * store would fail on each with a bare ENOTDIR naming one of its own files, or act on the
 * working folder. A folder that does not exist is fine (`migrate` makes it, the other verbs find
 * no checkpoint in it) unless `mustExist`, for `ls`.
 */
export async function checkStoreDir(dir: string, mustExist = false): Promise<void> {
  if (dir === '') {
    throw new CliError('--dir is empty: name the folder of the file store', EXIT.USAGE);
  }
  let info: Stats;
  try {
    info = await stat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new CliError(
        `${dir}: a part of the path is a file, not a directory of checkpoints`,
        EXIT.USAGE,
      );
    }
    if (code === 'ENOENT' && mustExist) throw new NotFoundError(`no directory ${dir}`);
    // Missing, or unreadable (a loop of links, no permission): the store's own error says which.
    return;
  }
  // A device or pipe (`/dev/null`) is no file `show` could read either: said as what it is.
  if (!info.isDirectory() && !info.isFile()) {
    throw new CliError(
      `${dir}: it is ${describeNonFile(info)}, not a directory of checkpoints`,
      EXIT.USAGE,
    );
  }
  if (!info.isDirectory()) {
    throw new CliError(
      `${dir} is a file, not a directory of checkpoints (to read a checkpoint file: checkpointkit show ${shellWord(dir)})`,
      EXIT.USAGE,
    );
  }
}
