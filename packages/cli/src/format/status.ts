import type { RunStatus, UnitStatus } from '@checkpointkit/core';
import type { Colors } from '../output.js';

/** A run or unit status, coloured by how it went. */
export function statusText(status: RunStatus | UnitStatus, c: Colors): string {
  switch (status) {
    case 'completed':
    case 'complete':
      return c.green(status);
    case 'failed':
      return c.red(status);
    case 'running':
    case 'in_progress':
      return c.cyan(status);
    case 'interrupted':
      return c.yellow(status);
    default:
      return c.dim(status);
  }
}

/** `1100 complete, 80 pending, 20 failed`: only the statuses that occur, in a fixed order. */
export function countsText(
  counts: Record<UnitStatus, number>,
  c: Colors,
  order: UnitStatus[] = ['complete', 'in_progress', 'pending', 'failed'],
): string {
  const parts = order
    .filter((status) => counts[status] > 0)
    .map((status) => {
      const text = `${counts[status]} ${status.replace('_', ' ')}`;
      return status === 'failed' ? c.red(text) : text;
    });
  return parts.length > 0 ? parts.join(', ') : 'no units';
}
