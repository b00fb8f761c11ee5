import type { Checkpoint, Json } from '@checkpointkit/core';
import { SinkFileStateError } from './errors.js';

/** The default id of a file sink: the prefix of its entries in the checkpoint's meta. */
export const DEFAULT_SINK_ID = 'sink-file';

/** The meta key under which a sink records how many bytes of `path` the checkpoint acknowledged. */
export function sinkStateKey(id: string, path: string): string {
  return `${id}:${path}`;
}

/** What a file sink records per file, with each page's cursor. */
export interface FileState {
  bytes: number;
}

export function fileState(bytes: number): Json {
  return { bytes } satisfies FileState;
}

/** The files this sink recorded in the checkpoint, with their acknowledged sizes. */
export function recordedFiles(checkpoint: Readonly<Checkpoint>, id: string): Map<string, number> {
  const prefix = sinkStateKey(id, '');
  const files = new Map<string, number>();
  for (const [key, value] of Object.entries(checkpoint.meta.user)) {
    if (!key.startsWith(prefix)) continue;
    const bytes = (value as Partial<FileState> | null)?.bytes;
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
      throw new SinkFileStateError(key, value);
    }
    files.set(key.slice(prefix.length), bytes);
  }
  return files;
}
