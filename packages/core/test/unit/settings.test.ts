import { describe, expect, it } from 'vitest';
import { settingFault } from '../../src/index.js';

describe('settingFault', () => {
  it('accepts settings as meant, and a connection string a .env file left a \\r on', () => {
    expect(settingFault('./ck', 'dir')).toBeNull();
    expect(settingFault('/srv/jobs/.checkpoints', 'dir')).toBeNull();
    expect(settingFault('./~', 'dir')).toBeNull();
    expect(settingFault('postgres', 'word')).toBeNull();
    expect(settingFault('postgres://u:p@h/db\r\n', 'url')).toBeNull();
    expect(settingFault('~weird', 'word')).toBeNull();
  });

  it.each([
    ['.checkpoints\r', 'dir', /carriage return/],
    ['postgres\r', 'word', /carriage return/],
    ['./ck\n', 'dir', /line break/],
    [' ./ck', 'dir', /starts with a space/],
    ['./ck  ', 'dir', /ends with a space/],
    ['postgres://u:p@h/db  ', 'url', /ends with a space/],
    ['"./ck"', 'dir', /wrapped in quotes/],
    ["'postgres://u:p@h/db'", 'url', /wrapped in quotes/],
    ['~/ck', 'dir', /starts with "~", which no shell expanded/],
    ['~', 'dir', /starts with "~"/],
  ] as const)('refuses %j as a %s, never quoting it', (value, kind, reason) => {
    const fault = settingFault(value, kind);
    expect(fault).toMatch(reason);
    // The value itself is never in the reason (a lone `~` is, as the character it names).
    if (value.trim().length > 1) expect(fault).not.toContain(value.trim());
  });
});
