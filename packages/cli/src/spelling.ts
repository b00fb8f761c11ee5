/**
 * Store settings spelled as nobody meant them (a `.env` file's `\r`, kept quotes, a space, an
 * unexpanded `~`: see core's `settingFault`) are usage errors naming where they came from.
 */
import { type SettingKind, settingFault } from '@checkpointkit/core';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/**
 * Why `value`, read from `from` (`CHECKPOINT_DIR`, `--dir`...), is not what its writer meant, or
 * null: core's {@link settingFault}, with how to write a `~` in an option.
 */
export function spellingProblem(value: string, from: string, kind: SettingKind): string | null {
  const fault = settingFault(value, kind);
  // An option reaches the CLI with its `~` only as `--dir=~/x` (or quoted): as two words the
  // shell expands it.
  if (fault?.startsWith('starts with "~"') && from.startsWith('--')) {
    return `starts with "~", which no shell expanded (bash leaves ${from}=~/x as it is): write the full path or ${from} ~/x as two words, or ./~ for a folder named ~`;
  }
  return fault;
}

/**
 * `value` when it is spelled as meant, else a usage error naming `from` and the cause. A
 * connection string is never shown: it may hold a password.
 */
export function checkSpelling(value: string, from: string, kind: SettingKind): string {
  const problem = spellingProblem(value, from, kind);
  if (problem === null) return value;
  throw new CliError(
    `${from} ${problem}${kind === 'url' ? '; the value is not shown' : ''}`,
    EXIT.USAGE,
  );
}
