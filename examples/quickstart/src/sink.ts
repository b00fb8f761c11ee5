import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sink } from '@checkpointkit/core';
import type { Reading } from './source.js';

/**
 * Appends readings to one JSON Lines file per station. A page sunk just before a crash may be
 * sunk again on resume (at-least-once), so each line carries `seq`: readers keep the last line
 * per (station, seq). See the README for sinks that are exactly-once.
 */
export function jsonlSink(dir: string): Sink<Reading> {
  let ready: Promise<unknown> | undefined;
  return {
    async write(items) {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const station = items[0]?.station;
      if (!station) return undefined;
      await appendFile(
        join(dir, `${station}.jsonl`),
        items.map((item) => `${JSON.stringify(item)}\n`).join(''),
      );
      return undefined;
    },
  };
}
