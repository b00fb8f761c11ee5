import { setTimeout as delay } from 'node:timers/promises';
import type { Source } from '@checkpointkit/core';

/** One weather reading, as a station's API might page them out. */
export interface Reading {
  station: string;
  seq: number;
  celsius: number;
}

export interface StationsOptions {
  stations: number;
  pagesPerStation: number;
  pageSize: number;
  /** Milliseconds each page "takes to download", so there is time to press Ctrl+C. */
  latencyMs: number;
}

/**
 * A generated source: `stations` units (`stations/<name>`), each paged like a REST API. The
 * cursor is the next page number. Readings are derived from their position, so a resumed run
 * produces exactly what an uninterrupted one would.
 */
export function stationsSource(options: StationsOptions): Source<Reading> {
  const names = Array.from(
    { length: options.stations },
    (_, i) => `station-${String(i + 1).padStart(2, '0')}`,
  );
  return {
    units: () =>
      names.map((name) => ({
        key: `stations/${name}`,
        total: options.pagesPerStation * options.pageSize,
      })),
    async *read({ key, cursor }, signal) {
      const station = key.slice('stations/'.length);
      for (let page = (cursor as number | null) ?? 0; page < options.pagesPerStation; page++) {
        await sleep(options.latencyMs, signal);
        if (signal.aborted) return;
        const items = Array.from({ length: options.pageSize }, (_, i) => {
          const seq = page * options.pageSize + i;
          return {
            station,
            seq,
            celsius: Math.round(Math.sin(seq / 7 + station.length) * 150) / 10 + 12,
          };
        });
        yield { items, cursor: page + 1 };
      }
    },
  };
}

/** Waits `ms`, or less when the run is stopping. */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => {});
}
