import { CHECKPOINT_FORMAT } from '@checkpointkit/core';
import { CheckpointFileError } from './errors.js';

/**
 * Tells files written by another version of CheckpointKit apart from plain damage: an unknown
 * `checkpointkit/N` format tag, or an unknown encoding version of the snapshot or journal, is a
 * `version` error naming both versions. Anything else is left to the schema.
 */
export function assertKnownVersions(
  header: unknown,
  file: string,
  encoding: { field: 'journal' | 'snapshot'; version: number },
): void {
  if (!header || typeof header !== 'object') return;
  const { format } = header as { format?: unknown };
  if (
    typeof format === 'string' &&
    format !== CHECKPOINT_FORMAT &&
    /^checkpointkit\/\d+$/.test(format)
  ) {
    throw new CheckpointFileError(
      file,
      'version',
      `unknown format version "${format}" (this version reads "${CHECKPOINT_FORMAT}")`,
      1,
    );
  }
  const found = (header as Record<string, unknown>)[encoding.field];
  if (typeof found === 'number' && Number.isInteger(found) && found !== encoding.version) {
    throw new CheckpointFileError(
      file,
      'version',
      `unknown ${encoding.field} encoding version ${found} (this version reads ${encoding.version})`,
      1,
    );
  }
}
