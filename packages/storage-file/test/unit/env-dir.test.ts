/**
 * CHECKPOINT_DIR set the way people set it: in a `.env` file saved on Windows (a `\r` at the
 * end), with quotes that Docker's `--env-file` and systemd's `Environment=` keep, with a space
 * after it, with a `~` no shell expanded. Each made a folder of that literal name in the working
 * directory without a word (a folder named `~` that a later `rm -rf ~` takes for home).
 */
import { resolve } from 'node:path';
import { OptionsError } from '@checkpointkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCheckpointDir, fileStore } from '../../src/index.js';

const saved = process.env['CHECKPOINT_DIR'];
afterEach(() => {
  if (saved === undefined) delete process.env['CHECKPOINT_DIR'];
  else process.env['CHECKPOINT_DIR'] = saved;
});

/** What `fileStore()` with no `dir` throws under `CHECKPOINT_DIR=value`, or its folder. */
function openWith(value: string): unknown {
  process.env['CHECKPOINT_DIR'] = value;
  try {
    return fileStore().dir;
  } catch (error) {
    return error;
  }
}

describe('CHECKPOINT_DIR spelled as nobody meant it', () => {
  for (const [value, cause] of [
    ['.checkpoints\r', 'ends with a carriage return (a .env file saved with CRLF?)'],
    ['./ck\n', 'ends with a line break'],
    ['"./ck"', 'is wrapped in quotes'],
    ["'./ck'", 'is wrapped in quotes'],
    ['./ck  ', 'ends with a space'],
    ['  ./ck', 'starts with a space'],
    ['~/ck', 'starts with "~", which no shell expanded: write the full path'],
    ['~', 'starts with "~", which no shell expanded: write the full path'],
  ] as const) {
    it(`${JSON.stringify(value)} is refused: the variable ${cause}`, () => {
      const error = openWith(value);
      expect(error, `made the folder ${String(error)}`).toBeInstanceOf(OptionsError);
      expect(error).toMatchObject({ fn: 'fileStore', option: 'dir' });
      expect((error as Error).message).toContain(`CHECKPOINT_DIR ${cause}`);
      // The message is one printable line: the value's control characters are escaped.
      expect((error as Error).message).not.toMatch(/[\r\n]/);
      expect(() => defaultCheckpointDir()).toThrow(OptionsError);
    });
  }

  it('a plain value, a full path and an empty one (unset) are used as before', () => {
    expect(openWith('./ck')).toBe(resolve('ck'));
    expect(openWith('/var/lib/jobs/ck')).toBe('/var/lib/jobs/ck');
    // Quotes, ~ and spaces inside the name are a folder someone chose.
    expect(openWith('./my "odd" ck/x~y z')).toBe(resolve('my "odd" ck/x~y z'));
    expect(openWith('./~')).toBe(resolve('~'));
    expect(openWith('')).toBe(resolve('.checkpoints'));
    expect(openWith('   ')).toBe(resolve('.checkpoints'));
  });

  it('a dir given in code is not read from CHECKPOINT_DIR, so a bad variable does not matter', () => {
    process.env['CHECKPOINT_DIR'] = '.checkpoints\r';
    expect(fileStore({ dir: '/tmp/ck-given' }).dir).toBe('/tmp/ck-given');
  });

  it('a dir option that starts with "~" is refused too: Node expands no "~" either', () => {
    delete process.env['CHECKPOINT_DIR'];
    expect(() => fileStore({ dir: '~/ck' })).toThrow(
      new OptionsError(
        'fileStore',
        'dir',
        'starts with "~", which Node does not expand (os.homedir() is the home folder): write the full path, or ./~ for a folder named ~',
      ),
    );
  });
});
