import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { table } from '../../src/format/table.js';
import { age, dateTime } from '../../src/format/time.js';
import { colorsEnabled, type OutStream } from '../../src/output.js';

describe('table', () => {
  it('pads columns to the widest cell and aligns the chosen ones right', () => {
    expect(
      table(
        [
          ['ID', 'UNITS', 'UPDATED'],
          ['a', '3/10', 'now'],
          ['longer-id', '120/1000', 'later'],
        ],
        { right: [1] },
      ),
    ).toEqual([
      'ID            UNITS  UPDATED',
      'a              3/10  now',
      'longer-id  120/1000  later',
    ]);
  });

  it('measures cells without their colour codes', () => {
    expect(
      table([
        ['\u001b[31mred\u001b[39m', 'x'],
        ['blue', 'y'],
      ]),
    ).toEqual(['\u001b[31mred\u001b[39m   x', 'blue  y']);
  });
});

describe('time', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  it('says coarsely how long ago', () => {
    expect(age('2025-03-01T11:59:30Z', now)).toBe('30s ago');
    expect(age('2025-03-01T11:15:00Z', now)).toBe('45m ago');
    expect(age('2025-03-01T02:00:00Z', now)).toBe('10h ago');
    expect(age('2025-02-20T12:00:00Z', now)).toBe('9d ago');
    expect(age('2025-03-02T00:00:00Z', now)).toBe('0s ago');
  });
  it('prints UTC to the second', () => {
    expect(dateTime('2025-03-01T13:04:05.678+01:00')).toBe('2025-03-01 12:04:05Z');
  });
});

describe('colorsEnabled', () => {
  const tty = Object.assign(new Writable(), { isTTY: true, hasColors: () => true }) as OutStream;
  const pipe = new Writable() as OutStream;
  it('colours a terminal only', () => {
    expect(colorsEnabled(tty, {})).toBe(true);
    expect(colorsEnabled(pipe, {})).toBe(false);
    expect(colorsEnabled(tty, { TERM: 'dumb' })).toBe(false);
  });
  it('honours NO_COLOR over FORCE_COLOR, and FORCE_COLOR on a pipe', () => {
    expect(colorsEnabled(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorsEnabled(tty, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(colorsEnabled(tty, { NO_COLOR: '' })).toBe(true);
    expect(colorsEnabled(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorsEnabled(tty, { FORCE_COLOR: '0' })).toBe(false);
  });
});
