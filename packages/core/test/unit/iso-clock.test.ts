import { describe, expect, it } from 'vitest';
import { isoClock } from '../../src/run/iso-clock.js';

describe('isoClock', () => {
  it('formats the clock’s time, again whenever the millisecond changes', () => {
    let time = Date.UTC(2026, 11, 6, 2, 30, 0, 5);
    const iso = isoClock(() => new Date(time));
    expect(iso()).toBe('2026-12-06T02:30:00.005Z');
    expect(iso()).toBe('2026-12-06T02:30:00.005Z');
    time += 1;
    expect(iso()).toBe('2026-12-06T02:30:00.006Z');
    // A clock that goes back (an injected one, NTP) is followed too.
    time -= 2_000;
    expect(iso()).toBe('2026-12-06T02:29:58.006Z');
  });

  it('throws on an invalid date, as toISOString does', () => {
    const iso = isoClock(() => new Date(Number.NaN));
    expect(() => iso()).toThrow(RangeError);
  });
});
