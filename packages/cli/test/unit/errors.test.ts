import { CheckpointFormatError, CheckpointLockedError } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import {
  CliError,
  classify,
  DamagedCheckpointError,
  NotFoundError,
  shellWord,
} from '../../src/errors.js';
import { EXIT } from '../../src/exit-codes.js';

describe('classify', () => {
  it('maps each kind of error to its documented exit code and one line', () => {
    const owner = { pid: 42, host: 'build-01', since: '2025-01-06T09:00:00.000Z' };
    expect(classify(new CheckpointLockedError('job', owner))).toEqual({
      code: EXIT.LOCKED,
      message:
        'checkpoint "job" is locked by pid 42 on build-01 since 2025-01-06T09:00:00.000Z; it was not changed (stop the job first)',
    });
    expect(classify(new CheckpointFormatError('a.json', 'empty file'))).toEqual({
      code: EXIT.DAMAGED,
      message: 'a.json: empty file',
    });
    expect(classify(new NotFoundError('no checkpoint "x"'))).toEqual({
      code: EXIT.NOT_FOUND,
      message: 'no checkpoint "x"',
    });
    expect(classify(new CliError('exists', EXIT.EXISTS)).code).toBe(6);
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
    });
    expect(classify(enoent).code).toBe(EXIT.NOT_FOUND);
    expect(classify(new Error('disk full'))).toEqual({ code: EXIT.FAILURE, message: 'disk full' });
    expect(classify('a string')).toEqual({ code: EXIT.FAILURE, message: 'a string' });
  });

  it('keeps the exit codes stable', () => {
    expect(EXIT).toEqual({
      OK: 0,
      FAILURE: 1,
      USAGE: 2,
      NOT_FOUND: 3,
      LOCKED: 4,
      DAMAGED: 5,
      EXISTS: 6,
      INTERRUPTED: 130,
      TERMINATED: 143,
    });
  });

  it('gives a repair hint that a shell reads back as the same id and directory', () => {
    const damage = new CheckpointFormatError('x.checkpoint.json', 'bad checksum');
    expect(classify(new DamagedCheckpointError(damage, 'crawl:2024', '.checkpoints')).message).toBe(
      'x.checkpoint.json: bad checksum; run `checkpointkit repair crawl:2024 --dir .checkpoints` to move the damaged file aside and keep every valid change',
    );
    expect(new DamagedCheckpointError(damage, "it's mine", 'my jobs').hint).toContain(
      `repair 'it'\\''s mine' --dir 'my jobs'`,
    );
    expect(shellWord('a$b')).toBe("'a$b'");
    expect(shellWord('')).toBe("''");
  });
});
