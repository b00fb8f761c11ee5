import type { Checkpoint, FailureCause } from './schema.js';

/** One failed unit, as a program reads it. */
export interface FailedUnit {
  key: string;
  message: string;
  retryable: boolean;
  /** Status, errcode, URL: present when the error that failed the unit carried them. */
  cause?: FailureCause;
}

/** The failed units of a checkpoint: how many, the first few, and how to retry them. */
export interface FailureReport {
  /** Failed units in the checkpoint (not only those failed by the last call). */
  count: number;
  /** Of those, how many a plain rerun retries (retryable errors). */
  retryable: number;
  /** The first failures in plan order, at most `limit` of them. */
  first: FailedUnit[];
  /** What retries them, for a person: empty when nothing failed. */
  retry: string;
}

/** Collects the failed units of a checkpoint, in plan order. */
export function failuresOf(checkpoint: Checkpoint, limit = 3): FailureReport {
  const first: FailedUnit[] = [];
  let count = 0;
  let retryable = 0;
  for (const key in checkpoint.units) {
    const unit = checkpoint.units[key]!;
    if (unit.status !== 'failed') continue;
    count += 1;
    if (unit.error?.retryable) retryable += 1;
    if (first.length < limit) {
      first.push({
        key,
        message: unit.error?.message ?? 'no error recorded',
        retryable: unit.error?.retryable ?? false,
        ...(unit.error?.cause && { cause: { ...unit.error.cause } }),
      });
    }
  }
  return { count, retryable, first, retry: retryAdvice(checkpoint.id, count, retryable) };
}

function retryAdvice(id: string, count: number, retryable: number): string {
  if (count === 0) return '';
  const reset = `checkpointkit reset-failed ${JSON.stringify(id)}`;
  // A plain rerun (retryFailed defaults to "retryable") picks up retryable failures by itself.
  if (retryable === count) return 'run the job again: retryable failures are retried';
  return `run the job again with retryFailed: true, or \`${reset}\` and run it again`;
}

/**
 * Failures in a few lines for a terminal, or '' when none: the counts, the first errors, and how
 * to retry them. Meant as a job's last words, so failures are impossible to miss.
 */
export function formatFailures(report: FailureReport): string {
  if (report.count === 0) return '';
  const notRetryable = report.count - report.retryable;
  const lines = [
    `${report.count} unit${report.count === 1 ? '' : 's'} FAILED (${report.retryable} retryable, ${notRetryable} not):`,
    ...report.first.map((failure) => `  ${failure.key}: ${failure.message}`),
  ];
  if (report.count > report.first.length) {
    lines.push(`  … and ${report.count - report.first.length} more`);
  }
  lines.push(`To retry: ${report.retry}.`);
  return lines.join('\n');
}
