import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Throttle } from '../../src/util/throttle.js';

describe('Throttle', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs the first request at once and folds later ones into one run per interval', async () => {
    const runs: number[] = [];
    const throttle = new Throttle(() => void runs.push(Date.now()), 300);
    const start = Date.now();
    throttle.request();
    expect(runs).toHaveLength(1);
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(50);
      throttle.request();
    }
    await vi.advanceTimersByTimeAsync(1000);
    // 1 s of requests every 50 ms: the leading run, then at most one per 300 ms, then a last one.
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < runs.length; i++)
      expect(runs[i]! - runs[i - 1]!).toBeGreaterThanOrEqual(300);
    expect(runs.at(-1)! - start).toBeGreaterThanOrEqual(1000);
  });

  it('waits one interval first without leading, collecting the requests meanwhile', async () => {
    let runs = 0;
    const throttle = new Throttle(() => void runs++, 100, { leading: false });
    throttle.request();
    throttle.request();
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(1);
  });

  it('never overlaps runs of a slow task, and runs once more for requests made during one', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const throttle = new Throttle(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 500));
      active--;
      runs++;
    }, 100);
    throttle.request();
    await vi.advanceTimersByTimeAsync(10);
    throttle.request();
    throttle.request();
    await vi.advanceTimersByTimeAsync(2000);
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
  });

  it('does nothing after dispose', async () => {
    let runs = 0;
    const throttle = new Throttle(() => void runs++, 100, { leading: false });
    throttle.request();
    throttle.dispose();
    throttle.request();
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toBe(0);
  });
});
