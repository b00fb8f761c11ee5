import { join } from 'node:path';
import type { Sink } from '@checkpointkit/core';
import { jsonLinesSink } from '@checkpointkit/sink-file';
import type { Reading } from './source.js';

/**
 * One JSON Lines file per station, exactly once: each page is fsynced and its byte offset saved
 * with the page's cursor, and a resumed run cuts each file back to its saved offset before it
 * writes, so no crash (Ctrl+C, kill -9, a power cut) leaves a reading twice or loses one.
 */
export function readingsSink(dir: string): Sink<Reading> {
  // Unit keys are `stations/<name>`.
  return jsonLinesSink<Reading>({
    path: (unit) => join(dir, `${unit.slice('stations/'.length)}.jsonl`),
  });
}
