import { describe, expect, it } from 'vitest';
import {
  allOf,
  always,
  anyOf,
  everyItems,
  everyMs,
  everyUnits,
  onRateLimit,
  type SaveContext,
} from '../../src/index.js';

const context = (over: Partial<SaveContext> = {}): SaveContext => ({
  changes: 1,
  units: 0,
  items: 0,
  elapsedMs: 0,
  rateLimit: null,
  ...over,
});

describe('save strategies', () => {
  it('everyUnits saves at the n-th unit', () => {
    expect(everyUnits(3).decide(context({ units: 2 })).save).toBe(false);
    expect(everyUnits(3).decide(context({ units: 3 }))).toEqual({
      save: true,
      reason: 'Progress: 3 units done (every 3)',
    });
  });

  it('everyItems and everyMs count items and time', () => {
    expect(everyItems(100).decide(context({ items: 99 })).save).toBe(false);
    expect(everyItems(100).decide(context({ items: 100 })).save).toBe(true);
    expect(everyMs(300_000).decide(context({ elapsedMs: 299_999 })).save).toBe(false);
    expect(everyMs(300_000).decide(context({ elapsedMs: 300_000 }))).toEqual({
      save: true,
      reason: 'Time: 300.0s since last save (every 300.0s)',
    });
  });

  it('onRateLimit gives seed 002 its reason', () => {
    const strategy = onRateLimit(0.2);
    expect(strategy.decide(context({ rateLimit: { remaining: 800, limit: 5000 } }))).toEqual({
      save: true,
      reason: 'Rate-limit: 800/5000 (16.0% remaining <= 20.0% threshold)',
    });
    expect(strategy.decide(context({ rateLimit: { remaining: 1001, limit: 5000 } })).save).toBe(
      false,
    );
    expect(strategy.decide(context()).save).toBe(false);
  });

  it('anyOf saves on the first yes, allOf only when all agree', () => {
    const time = everyMs(1000);
    const units = everyUnits(10);
    expect(anyOf(time, units).decide(context({ units: 10 }))).toEqual({
      save: true,
      reason: 'Progress: 10 units done (every 10)',
    });
    expect(anyOf(time, units).decide(context({ units: 9 })).save).toBe(false);
    expect(allOf(time, units).decide(context({ units: 10 })).save).toBe(false);
    const both = allOf(time, units).decide(context({ units: 10, elapsedMs: 1000 }));
    expect(both.save).toBe(true);
    expect(both.reason).toBe(
      'Time: 1.0s since last save (every 1.0s) AND Progress: 10 units done (every 10)',
    );
    expect(always().decide(context())).toEqual({ save: true, reason: 'Always' });
  });

  it('rejects nonsense parameters', () => {
    expect(() => everyUnits(0)).toThrow(RangeError);
    expect(() => everyMs(Number.NaN)).toThrow(RangeError);
    expect(() => onRateLimit(1.5)).toThrow(RangeError);
    expect(() => anyOf()).toThrow(RangeError);
  });
});
