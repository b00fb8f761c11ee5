/**
 * Small helpers shared by the suites: time a piece of work, and print a result as a ratio
 * against a baseline measured in the same run, with the goal it is checked against.
 */
import { performance } from 'node:perf_hooks';

export interface Suite {
  /** Shown as the section title. */
  name: string;
  /** Runs the measurements and prints them with {@link report}. */
  run(): Promise<void>;
}

/** A full garbage collection, when Node runs with `--expose-gc` (`pnpm bench` does). */
export const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/**
 * Median times of `subject` and `baseline`, run in turns after a warm-up of each, with a full GC
 * before each run when `--expose-gc` is on: a slow stretch of the machine, or the garbage of what
 * ran before, falls on both instead of on whichever ran first.
 */
export async function timeMedians(
  subject: () => unknown | Promise<unknown>,
  baseline: () => unknown | Promise<unknown>,
  repeat = 7,
): Promise<{ subject: number; baseline: number }> {
  await baseline();
  await subject();
  const times = { subject: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < repeat; i++) {
    for (const [name, fn] of [
      ['baseline', baseline],
      ['subject', subject],
    ] as const) {
      gc();
      const start = performance.now();
      await fn();
      times[name].push(performance.now() - start);
    }
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]!;
  return { subject: median(times.subject), baseline: median(times.baseline) };
}

/** Median wall time in milliseconds of `repeat` calls of `fn`, after `warmup` unmeasured calls. */
export async function timeMedian(
  fn: () => unknown | Promise<unknown>,
  repeat = 5,
  warmup = 1,
): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export interface RatioReport {
  what: string;
  /** The measured value of the thing under test, and of the baseline, in the same unit. */
  subject: { label: string; value: number; unit: string };
  baseline: { label: string; value: number; unit: string };
  /**
   * How the ratio reads, and the goal: `cheaper` = baseline/subject (bigger is better),
   * `overhead` = subject/baseline (smaller is better), `throughput` = subject/baseline (bigger is better).
   */
  kind: 'cheaper' | 'overhead' | 'throughput';
  goal?: number;
}

/**
 * One measured figure with or without a goal, as `report()`, `limit()` or `skipped()` printed it.
 * Suites run in child processes and send these to the parent, which sums up every suite's goals.
 */
export type Result =
  | { kind: 'ratio'; what: string; ratio: number; goal?: number; met?: boolean }
  | { kind: 'limit'; what: string; value: number; unit: string; goal: number; met: boolean }
  | { kind: 'skipped'; what: string; why: string };

const results: Result[] = [];

export function report(r: RatioReport): void {
  const ratio =
    r.kind === 'cheaper' ? r.baseline.value / r.subject.value : r.subject.value / r.baseline.value;
  const met =
    r.goal === undefined ? undefined : r.kind === 'overhead' ? ratio <= r.goal : ratio >= r.goal;
  const goalText =
    r.goal === undefined
      ? ''
      : ` (goal ${r.kind === 'overhead' ? '<=' : '>='} ${r.goal}x: ${met ? 'met' : 'NOT met'})`;
  const label =
    r.kind === 'cheaper'
      ? 'x cheaper'
      : r.kind === 'overhead'
        ? 'x the baseline'
        : 'x the baseline';
  console.log(`  ${r.what}`);
  console.log(`    ${r.subject.label}: ${fmt(r.subject.value)} ${r.subject.unit}`);
  console.log(`    ${r.baseline.label}: ${fmt(r.baseline.value)} ${r.baseline.unit}`);
  console.log(`    ratio: ${ratio.toFixed(2)}${label}${goalText}`);
  results.push({
    kind: 'ratio',
    what: r.what,
    ratio,
    ...(r.goal !== undefined && { goal: r.goal }),
    ...(met !== undefined && { met }),
  });
}

/**
 * An absolute goal (a figure that must stay under a limit, such as a latency a user sees),
 * printed and counted in the run's summary like a ratio's goal.
 */
export function limit(what: string, value: number, goal: number, unit = 'ms'): void {
  const met = value < goal;
  console.log(`  goal: ${what} under ${goal} ${unit}`);
  console.log(`    ${fmt(value)} ${unit}: ${met ? 'met' : 'NOT met'}`);
  results.push({ kind: 'limit', what, value, unit, goal, met });
}

/** A measurement that could not run here (a missing tool): counted, so no summary hides it. */
export function skipped(what: string, why: string): void {
  console.log(`  skipped: ${what}: ${why}`);
  results.push({ kind: 'skipped', what, why });
}

/** A figure without a baseline (a count, a scaling table row). */
export function note(what: string, value: string): void {
  console.log(`  ${what}: ${value}`);
}

export function allResults(): Result[] {
  return results;
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);
}
