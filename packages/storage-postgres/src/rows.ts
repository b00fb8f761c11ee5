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
  started_at: Date | null;
  completed_at: Date | null;
}

export const UNIT_COLUMNS =
  'key, status, attempts, cursor, done, total, error, started_at, completed_at';

export function unitFromRow(row: UnitRow): Unit {
  return {
    status: row.status,
    attempts: row.attempts,
    cursor: row.cursor === null ? null : decodeJson(row.cursor),
    done: row.done,
    total: row.total,
    startedAt: iso(row.started_at),
    completedAt: iso(row.completed_at),
    error: row.error === null ? null : decodeJson<UnitErrorInfo>(row.error),
  };
}

export function keyFromRow(row: { key: string }): string {
  return decodeText(row.key);
}

export function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}
