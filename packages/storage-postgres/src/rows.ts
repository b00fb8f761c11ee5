import type { Unit, UnitErrorInfo, UnitStatus } from '@checkpointkit/core';
import { decodeJson, decodeText } from './codec.js';

/** A units row as selected with {@link UNIT_COLUMNS}. */
export interface UnitRow {
  key: string;
  status: UnitStatus;
  attempts: number;
  cursor: unknown;
  done: number;
  total: number | null;
  error: unknown;
  /** Milliseconds since the epoch: cheaper to read than a timestamp's text. */
  started_ms: number | null;
  completed_ms: number | null;
}

export const UNIT_COLUMNS = `key, status, attempts, cursor, done, total, error,
  (extract(epoch FROM started_at) * 1000)::float8 AS started_ms,
  (extract(epoch FROM completed_at) * 1000)::float8 AS completed_ms`;

export function unitFromRow(row: UnitRow): Unit {
  return {
    status: row.status,
    attempts: row.attempts,
    cursor: row.cursor === null ? null : decodeJson(row.cursor),
    done: row.done,
    total: row.total,
    startedAt: fromMs(row.started_ms),
    completedAt: fromMs(row.completed_ms),
    error: row.error === null ? null : decodeJson<UnitErrorInfo>(row.error),
  };
}

export function keyFromRow(row: { key: string }): string {
  return decodeText(row.key);
}

function fromMs(value: number | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
