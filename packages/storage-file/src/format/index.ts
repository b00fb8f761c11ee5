/**
 * `@checkpointkit/storage-file/format`: the file store's names and parsers without any file I/O
 * or locking, for tools that read checkpoint files their own way (an editor's file system API).
 */
export {
  CheckpointFileError,
  type CheckpointFileErrorKind,
  checkReadableSize,
  checkRegularFile,
  describeNonFile,
  MAX_READ_BYTES,
} from './errors.js';
export {
  encodeBatch,
  encodeJournalHeader,
  JOURNAL_VERSION,
  type ParsedJournal,
  parseJournal,
} from './journal.js';
export {
  ACK_SUFFIX,
  CORRUPT_INFIX,
  checkpointFileName,
  checkpointFilesOf,
  checkpointIdFromFileName,
  checkpointStemFromFileName,
  decodeCheckpointStem,
  encodeCheckpointId,
  isShortenedStem,
  JOURNAL_SUFFIX,
  journalFileName,
  LOCK_SUFFIX,
  lockFileName,
  MAX_ENCODED_STEM,
  PREVIOUS_SUFFIX,
  SNAPSHOT_SUFFIX,
  TORN_INFIX,
} from './names.js';
export {
  type CheckpointFilesInput,
  decodeAck,
  encodeAck,
  journalFileFor,
  type ParsedCheckpoint,
  parseCheckpointFiles,
} from './parse.js';
export {
  checkSnapshotLength,
  type DecodedSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_HEAD_BYTES,
  SNAPSHOT_VERSION,
} from './snapshot.js';
export { type SummarizedCheckpoint, summarizeCheckpointFiles } from './summary.js';
