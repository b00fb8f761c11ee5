/**
 * The canonical format, `checkpointkit/1`: our own, so read as written, and strictly. Its version
 * is its `format` tag (an unknown `checkpointkit/N` is refused as an unknown format, as the file
 * store refuses it), and a member the tag's schema does not have is refused too: a reader that
 * left it out would hand on a checkpoint that the next write truncates, and keeping it aside in
 * `meta.user` (as the seed readers do) would move it out of its place, so the newer CheckpointKit
 * that wrote it would not find it there again.
 */
import { UnknownMemberError } from '../errors.js';
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  CheckpointMetaSchema,
  CheckpointSchema,
  FailureCauseSchema,
  UnitErrorSchema,
  UnitSchema,
} from '../model/schema.js';
import { formatPath } from './issues.js';
import type { FormatReader } from './shared.js';
import { type KnownShape, shapeMembers, unknownFields } from './unknown-fields.js';

/**
 * Every member of `checkpointkit/1`. A cursor and `meta.user` hold what the job likes, and id maps
 * and stats are keyed by data with plain values, so those are taken whole.
 */
const CANONICAL_MEMBERS: KnownShape = {
  members: {
    ...shapeMembers(CheckpointSchema.shape),
    units: {
      each: {
        members: {
          ...shapeMembers(UnitSchema.shape),
          error: {
            members: {
              ...shapeMembers(UnitErrorSchema.shape),
              cause: { members: shapeMembers(FailureCauseSchema.shape) },
            },
          },
        },
      },
    },
    meta: { members: shapeMembers(CheckpointMetaSchema.shape) },
  },
};

/**
 * Refuses a document tagged `checkpointkit/1` that has a member the format does not have.
 *
 * @throws UnknownMemberError naming the file and the first such member (never its value).
 */
function refuseUnknownMembers(doc: Record<string, unknown>, file: string | undefined): void {
  const unknown = unknownFields(doc, CANONICAL_MEMBERS);
  const [first] = unknown;
  if (!first) return;
  const where =
    unknown.length === 1
      ? `${formatPath(first.path)}: not a member`
      : `${formatPath(first.path)} and ${unknown.length - 1} more: not members`;
  throw new UnknownMemberError(
    file,
    first.path,
    `${where} of ${CHECKPOINT_FORMAT} (written by a newer CheckpointKit? this version would drop ${unknown.length === 1 ? 'it' : 'them'})`,
  );
}

/** The reader of the canonical format. */
export const canonicalReader: FormatReader<Checkpoint> = {
  format: CHECKPOINT_FORMAT,
  label: `CheckpointKit checkpoint (${CHECKPOINT_FORMAT})`,
  schema: CheckpointSchema,
  affinity: (doc) => (doc['format'] === CHECKPOINT_FORMAT ? 100 : 0),
  // Before the schema: a newer CheckpointKit's member is the likelier cause of a misfit, and
  // the one to name.
  check: (doc, context) => refuseUnknownMembers(doc, context.file),
  toCheckpoint: (doc) => doc,
};
