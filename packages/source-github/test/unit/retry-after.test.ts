import { describe, expect, it } from 'vitest';
import { askedWait, retryAfterSeconds } from '../../src/rate-limit.js';

const now = new Date('2026-05-01T12:00:00Z');

describe('retryAfterSeconds', () => {
  it('reads whole seconds', () => {
    expect(retryAfterSeconds('0', now)).toBe(0);
    expect(retryAfterSeconds('120', now)).toBe(120);
    expect(retryAfterSeconds(' 7 ', now)).toBe(7);
    expect(retryAfterSeconds(30, now)).toBe(30);
  });

  it('reads the three forms of an HTTP date, in seconds from now (at least 1)', () => {
    expect(retryAfterSeconds('Fri, 01 May 2026 12:02:00 GMT', now)).toBe(120);
    expect(retryAfterSeconds('Friday, 01-May-26 12:02:00 GMT', now)).toBe(120);
    // asctime has no zone and means GMT, not the machine's time.
    expect(retryAfterSeconds('Fri May  1 12:02:00 2026', now)).toBe(120);
    expect(retryAfterSeconds('Fri, 01 May 2026 11:00:00 GMT', now)).toBe(1);
    // A two-digit year more than 50 years ahead is the century before.
    expect(retryAfterSeconds('Monday, 01-Jan-90 00:00:00 GMT', now)).toBe(1);
  });

  it.each([
    ['a bare day', 'May 1'],
    ['an ISO time', '2026-05-01T12:02:00Z'],
    ['a date in local time', 'Fri, 01 May 2026 12:02:00 +0200'],
    ['a fraction', '1.5'],
    ['negative', '-1'],
    ['exponent', '1e3'],
    ['hexadecimal', '0x10'],
    ['Infinity', 'Infinity'],
    ['words', 'soon'],
    ['empty', ''],
    ['February 31st', 'Tue, 31 Feb 2026 12:00:00 GMT'],
    ['hour 25', 'Fri, 01 May 2026 25:00:00 GMT'],
    ['a lower-case date', 'fri, 01 may 2026 12:02:00 gmt'],
  ])('treats %s as absent', (_what, value) => {
    expect(retryAfterSeconds(value, now)).toBeUndefined();
  });
});

describe('askedWait', () => {
  const reset = String(now.getTime() / 1000 + 100);

  it('falls back to x-ratelimit-reset when retry-after is no delay', () => {
    expect(askedWait({ 'retry-after': 'May 1', 'x-ratelimit-reset': reset }, now)).toBe(101);
    expect(askedWait({ 'retry-after': '-1' }, now)).toBeUndefined();
  });
});
