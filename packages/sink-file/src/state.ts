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
  /** A hash of the part's last bytes, to tell it from another file on resume (absent before 0.1). */
  tail?: string;
}

/** A recorded output: its part and size, and the fingerprint of its last bytes when known. */
export type RecordedFile = Required<Omit<FileState, 'tail'>> & Pick<FileState, 'tail'>;

export function fileState(bytes: number, part: number, tail: string): Json {
  return (part === 0 ? { bytes, tail } : { bytes, part, tail }) satisfies FileState;
}

const wholeNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** The outputs this sink recorded in the checkpoint, with their acknowledged part and size. */
export function recordedFiles(
  checkpoint: Readonly<Checkpoint>,
  id: string,
): Map<string, RecordedFile> {
  const prefix = sinkStateKey(id, '');
  const files = new Map<string, RecordedFile>();
  for (const [key, value] of Object.entries(checkpoint.meta.user)) {
    if (!key.startsWith(prefix)) continue;
    const state = (value ?? {}) as Partial<FileState>;
    const part = state.part ?? 0;
    const tail = state.tail;
    if (
      typeof value !== 'object' ||
      !wholeNumber(state.bytes) ||
      !wholeNumber(part) ||
      (tail !== undefined && typeof tail !== 'string')
    ) {
      throw new SinkFileStateError(key, value);
    }
    files.set(key.slice(prefix.length), { bytes: state.bytes, part, ...(tail && { tail }) });
  }
  return files;
}

/**
 * The files other file sinks of the run recorded (entries `<other id>:<path>` shaped like a
 * {@link FileState}), as given: a rotating sink that took one for its part on resume would remove
 * or cut it before that sink opens.
 */
export function otherSinksFiles(checkpoint: Readonly<Checkpoint>, id: string): string[] {
  const prefix = sinkStateKey(id, '');
  const files: string[] = [];
  for (const [key, value] of Object.entries(checkpoint.meta.user)) {
    const colon = key.indexOf(':');
    if (colon <= 0 || key.startsWith(prefix)) continue;
    if (wholeNumber((value as Partial<FileState> | null)?.bytes)) files.push(key.slice(colon + 1));
  }
  return files;
}
