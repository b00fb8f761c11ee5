/**
 * Settings spelled as nobody meant them, the way people really set them: a `.env` file saved on
 * Windows (the value ends with `\r`), quotes that Docker's `--env-file` and systemd's
 * `Environment=` keep as part of the value, a space before or after it, a `~` that no shell
 * expanded. Used as they came, each made a folder of that literal name in the working directory
 * without a word (a folder named `~`, which a later `rm -rf ~` takes for the home folder), or
 * reached a database named with a trailing space. Refused, not cleaned up: the same value is
 * wrong for every other program that reads it. storage-file, storage-postgres and the CLI use it.
 */

/**
 * - `dir`: a folder; a leading `~` is refused too (Node expands none).
 * - `word`: a name or keyword (`CHECKPOINT_STORE`).
 * - `url`: a connection string; a trailing `\r` or `\n` is allowed, as pg's URL parser drops it.
 */
export type SettingKind = 'dir' | 'word' | 'url';

/**
 * Why a setting's `value` is not what its writer meant, or null. The reason describes the fault
 * and never quotes the value (a connection string holds a password): `ends with a carriage return
 * (a .env file saved with CRLF?)…`, `is wrapped in quotes…`, `starts with "~", which no shell
 * expanded…`.
 */
export function settingFault(value: string, kind: SettingKind): string | null {
  const checked = kind === 'url' ? value.replace(/[\r\n]+$/, '') : value;
  if (checked.endsWith('\r')) {
    return 'ends with a carriage return (a .env file saved with CRLF?): save it with LF line endings';
  }
  if (checked.endsWith('\n')) return 'ends with a line break: remove it';
  if (/^\s/.test(checked)) return 'starts with a space: remove it';
  if (/\s$/.test(checked)) return 'ends with a space: remove it';
  if (checked.length >= 2 && /^(["']).*\1$/s.test(checked)) {
    return "is wrapped in quotes, which were kept as part of the value (Docker's --env-file and systemd's Environment= keep them): remove them";
  }
  if (kind === 'dir' && checked.startsWith('~')) {
    return 'starts with "~", which no shell expanded: write the full path, or ./~ for a folder named ~';
  }
  return null;
}
