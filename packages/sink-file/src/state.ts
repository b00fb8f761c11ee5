import type { Checkpoint, Json } from '@checkpointkit/core';
import { SinkFileStateError } from './errors.js';

/** The default id of a file sink: the prefix of its entries in the checkpoint's meta. */
export const DEFAULT_SINK_ID = 'sink-file';

/** The meta key under which a sink records how many bytes of `path` the checkpoint acknowledged. */
export function sinkStateKey(id: string, path: string): string {
  return `${id}:${path}`;
}

/**
 * What a file sink records per output, with each page's cursor: the size of the part it writes,
 * and which part that is (absent for part 0: outputs that never rotate record only `bytes`).
 */
export interface FileState {
  bytes: number;
  part?: number;
}

export function fileState(bytes: number, part: number): Json {
  return (part === 0 ? { bytes } : { bytes, part }) satisfies FileState;
}

const wholeNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** The outputs this sink recorded in the checkpoint, with their acknowledged part and size. */
export function recordedFiles(
  checkpoint: Readonly<Checkpoint>,
  id: string,
): Map<string, Required<FileState>> {
  const prefix = sinkStateKey(id, '');
  const files = new Map<string, Required<FileState>>();
  for (const [key, value] of Object.entries(checkpoint.meta.user)) {
    if (!key.startsWith(prefix)) continue;
    const state = (value ?? {}) as Partial<FileState>;
    const part = state.part ?? 0;
    if (typeof value !== 'object' || !wholeNumber(state.bytes) || !wholeNumber(part)) {
      throw new SinkFileStateError(key, value);
    }
    files.set(key.slice(prefix.length), { bytes: state.bytes, part });
  }
  return files;
}
