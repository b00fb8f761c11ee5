import { SinkFileItemError } from './errors.js';
import type { PageTarget } from './file-sink.js';

/**
 * Encodes item `index` of a page with `encode`, turning what it throws (JSON.stringify on a bigint
 * or a cycle, the user's `toJson` or column function) into a {@link SinkFileItemError}: a raw
 * TypeError named neither the file nor the item, and was retried as if the disk had failed.
 */
export function encodeItem(target: PageTarget, index: number, encode: () => string): string {
  try {
    return encode();
  } catch (cause) {
    throw new SinkFileItemError(target.path, target.unit, index, cause);
  }
}
