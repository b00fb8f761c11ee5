import { InvalidArgumentError } from 'commander';

/**
 * A checkpoint id argument (`<id>`, `--id`): not empty, which no store accepts. Refused as a
 * usage error (exit 2) before any store is opened, as a script's unset variable most likely is.
 */
export function checkpointId(value: string): string {
  if (value === '') throw new InvalidArgumentError('a checkpoint id is never empty');
  return value;
}

/**
 * A unit key or key prefix (`reset <unit-key>`, `reset-failed --under`): not empty. An empty one
 * (a script's unset variable) matched no unit, and `reset-failed --under ""` said there were no
 * failed units at all.
 */
export function unitKey(value: string): string {
  if (value === '') throw new InvalidArgumentError('a unit key is never empty');
  return value;
}

/** The longest wait a Node timer takes: longer ones fire after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A whole number of milliseconds a timer can wait: `watch --interval 99999999999` polled the
 * checkpoint every millisecond, with a warning on stderr each time.
 */
export function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TIMER_MS) {
    throw new InvalidArgumentError(
      `expected a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
    );
  }
  return n;
}
