export * from './errors.js';
export * from './formats/index.js';
export type { Change, ChangeType } from './model/changes.js';
export { ChangeSchema } from './model/changes.js';
export { canonicalJson, configDigest } from './model/digest.js';
export * from './model/failures.js';
export { isUnderPrefix, KEY_SEPARATOR, keyPath, keySegments } from './model/keys.js';
export { applyChange, emptyCheckpoint, emptyUnit, replay } from './model/reducer.js';
export * from './model/schema.js';
export * from './model/summary.js';
export {
  ClaimOptionsSchema,
  checkOptions,
  OpenRunOptionsSchema,
  PendingOptionsSchema,
  PipelineOptionsSchema,
  RetryFailedSchema,
} from './options.js';
export * from './pipeline/contracts.js';
export { type CredentialKind, credentialFault } from './pipeline/credentials.js';
export * from './pipeline/pipeline.js';
export { type SettingKind, settingFault } from './pipeline/settings.js';
export {
  autoCleanupFromEnv,
  DEFAULT_STRATEGY,
  type OpenRunOptions,
  openRun,
} from './run/open-run.js';
export * from './run/run.js';
export { EXIT_CODES, type SignalOptions, type SignalTarget } from './run/signals.js';
export * from './run/types.js';
export * from './store/contract.js';
export { MemoryStorage, memoryStore } from './store/memory.js';
export * from './strategies/index.js';
