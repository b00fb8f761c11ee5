/**
 * Readers for the checkpoint formats CheckpointKit knows (the canonical one and the seeds'),
 * recognised by content, and the writer of a checkpoint as a change log. Pure: no Node-only
 * imports, so editors and browsers can bundle it.
 */
export { formatPath } from './issues.js';
export { parseCheckpointJson } from './json.js';
export { type ReadResult, readCheckpointDocument } from './read.js';
export {
  type Seed000Document,
  type Seed000Page,
  Seed000PageSchema,
  Seed000Schema,
  seed000PageKey,
  seed000ToCheckpoint,
} from './seed-000.js';
export {
  SEED_002_UNIT,
  type Seed002Metadata,
  Seed002MetadataSchema,
  type Seed002V2Document,
  Seed002V2Schema,
  seed002ToCheckpoint,
} from './seed-002.js';
export { migrateSeed002V1, type Seed002V1Document, Seed002V1Schema } from './seed-002-v1.js';
export {
  type Seed003Document,
  Seed003EndpointSchema,
  Seed003ErrorSchema,
  type Seed003Repo,
  Seed003RepoSchema,
  Seed003Schema,
  Seed003StatusSchema,
  seed003ToCheckpoint,
} from './seed-003.js';
export {
  type DocumentFormat,
  normaliseTimestamp,
  type ReadContext,
  type ReadOptions,
  SeedTimestampSchema,
} from './shared.js';
export { checkpointToChanges } from './write.js';
