export { type CsvColumn, type CsvSinkOptions, csvCell, csvSink } from './csv.js';
export {
  SinkFileChangedError,
  SinkFileConflictError,
  SinkFileDisturbedError,
  SinkFileError,
  SinkFileHeldError,
  type SinkFileHolder,
  SinkFileItemError,
  SinkFileLostError,
  SinkFilePageSizeError,
  SinkFilePathError,
  SinkFileStateError,
} from './errors.js';
export { type FileSinkOptions, fileSink, type PageEncoder, type PageTarget } from './file-sink.js';
export { type JsonLinesSinkOptions, jsonLinesSink } from './json-lines.js';
export { partPath } from './parts.js';
export {
  DEFAULT_SINK_ID,
  type FileState,
  type RecordedFile,
  recordedFiles,
  sinkStateKey,
} from './state.js';
