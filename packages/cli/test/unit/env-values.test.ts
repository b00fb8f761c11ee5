/**
 * Store settings spelled the way people really set them: in a `.env` file saved on Windows (a
 * `\r` at the end), with quotes that Docker's `--env-file` and systemd's `Environment=` keep, with
 * a space after them, with a `~` that no shell expanded (`--dir=~/ck`: bash expands no `~` after
 * `=` in an argument). Each is a usage error naming the variable or option and the cause, never
 * a folder of that literal name in the working directory (a folder named `~` that a later
 * `rm -rf ~` takes for home) nor a connection string echoed.
 */
import { defaultCheckpointDir } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/errors.js';
import { EXIT } from '../../src/exit-codes.js';
import { explicitDir, storeDir, storeKind } from '../../src/stores.js';

const CRLF = 'ends with a carriage return (a .env file saved with CRLF?)';
const QUOTES = 'is wrapped in quotes';

/** The folder `fileStore()` uses when `CHECKPOINT_DIR` is `value`: the CLI must agree. */
function defaultCheckpointDirUnder(value: string): string {
  const before = process.env['CHECKPOINT_DIR'];
  process.env['CHECKPOINT_DIR'] = value;
  try {
    return defaultCheckpointDir();
  } finally {
    if (before === undefined) delete process.env['CHECKPOINT_DIR'];
    else process.env['CHECKPOINT_DIR'] = before;
  }
}

/** The usage error `fn` throws, or what it returns. */
function outcome(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.USAGE);
    expect((error as Error).message).not.toMatch(/[\r\n]/);
    return (error as Error).message;
  }
}

describe('the folder of the file store', () => {
  it('CHECKPOINT_DIR or --dir spelled as nobody meant it is refused, naming which and why', () => {
    for (const [value, cause] of [
      ['.checkpoints\r', CRLF],
      ['./ck\n', 'ends with a line break'],
      ['"./ck"', QUOTES],
      ["'./ck'", QUOTES],
      ['./ck ', 'ends with a space'],
      [' ./ck', 'starts with a space'],
      ['~/ck', 'starts with "~", which no shell expanded'],
      ['~', 'starts with "~", which no shell expanded'],
    ] as const) {
      expect(
        outcome(() => storeDir({}, { CHECKPOINT_DIR: value })),
        value,
      ).toMatch(new RegExp(`^CHECKPOINT_DIR ${escapeRegExp(cause)}`));
      expect(
        outcome(() => storeDir({ dir: value }, {})),
        value,
      ).toMatch(new RegExp(`^--dir ${escapeRegExp(cause)}`));
    }
    // Typed, a blank folder is a mistake; in the environment it is unset (next test).
    expect(outcome(() => storeDir({ dir: '   ' }, {}))).toMatch(/^--dir starts with a space/);
    // What bash leaves of --dir=~/ck: the message says how to write it.
    expect(outcome(() => storeDir({ dir: '~/ck' }, {}))).toBe(
      '--dir starts with "~", which no shell expanded (bash leaves --dir=~/x as it is): write the full path or --dir ~/x as two words, or ./~ for a folder named ~',
    );
  });

  it('plain folders, and --dir beating a bad CHECKPOINT_DIR, are used as before', () => {
    const bad = { CHECKPOINT_DIR: '.checkpoints\r' };
    expect(storeDir({}, {})).toBe('.checkpoints');
    expect(storeDir({}, { CHECKPOINT_DIR: '' })).toBe('.checkpoints');
    // Blank is unset, as fileStore() reads it: the CLI finds what a job wrote under that
    // environment (it refused it before, while the job had used .checkpoints).
    expect(storeDir({}, { CHECKPOINT_DIR: '   ' })).toBe(defaultCheckpointDirUnder('   '));
    expect(storeDir({}, { CHECKPOINT_DIR: ' \r' })).toBe(defaultCheckpointDirUnder(' \r'));
    expect(storeDir({ dir: '/srv/ck' }, bad)).toBe('/srv/ck');
    expect(storeDir({ dir: './~' }, {})).toBe('./~');
    expect(storeDir({ dir: './a "b" c~' }, {})).toBe('./a "b" c~');
    expect(explicitDir({}, {})).toBeUndefined();
  });
});

describe('CHECKPOINT_STORE', () => {
  it('with a carriage return, quotes or a space says so, not just "an unknown store"', () => {
    for (const [value, cause] of [
      ['postgres\r', CRLF],
      ['"file"', QUOTES],
      ['file ', 'ends with a space'],
    ] as const) {
      expect(
        outcome(() => storeKind({}, { CHECKPOINT_STORE: value })),
        value,
      ).toMatch(new RegExp(`^CHECKPOINT_STORE ${escapeRegExp(cause)}`));
    }
    // A typed option decides first: the variable is not read.
    expect(storeKind({ dir: '/srv/ck' }, { CHECKPOINT_STORE: 'postgres\r' })).toBe('file');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
