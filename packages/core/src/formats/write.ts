import { CheckpointFormatError } from '../errors.js';
import type { Change } from '../model/changes.js';
import type { Checkpoint, Unit, UnitStatus } from '../model/schema.js';

/** More repetitions of `unit.started` or `saved` than a sane checkpoint holds. */
const MAX_REPEAT = 100_000;

/**
 * A change log that, replayed from nothing (`replay(null, changes)`), gives exactly `checkpoint`:
 * how a migrated seed checkpoint (or any checkpoint) is written into a store with
 * `store.append(id, changes)`.
 *
 * The log is `created` (at createdAt), then for each unit `unit.planned` (with its total),
 * `unit.started` once per attempt (at startedAt), a `unit.reset` when attempts left no start
 * time, `unit.progressed` for its cursor and count, then `unit.completed` / `unit.failed` /
 * `unit.reset` to reach its status with its own times; then `id.mapped`, `counter.added`,
 * `meta.set`, one `saved` per save (all with the last reason, as earlier ones are not known) and
 * finally `status` at updatedAt, so the replayed updatedAt is the checkpoint's.
 *
 * @throws CheckpointFormatError when no change log gives the checkpoint: a unit state the reducer
 *   cannot reach (complete without completedAt, failed without error, a start time without an
 *   attempt...), a time later than updatedAt (as strings, as the reducer compares them), an
 *   empty id map, an empty name, saves without a reason, or more than 100 000 attempts or saves
 *   (each is one change).
 *   What {@link readCheckpointDocument} returns fails only for the last two reasons.
 */
export function checkpointToChanges(checkpoint: Checkpoint): Change[] {
  const problem = unwritable(checkpoint);
  if (problem) {
    throw new CheckpointFormatError(
      undefined,
      `id ${JSON.stringify(checkpoint.id)} cannot be written as a change log: ${problem}`,
    );
  }
  const base = checkpoint.createdAt;
  const changes: Change[] = [
    { type: 'created', at: base, id: checkpoint.id, configDigest: checkpoint.configDigest },
  ];
  for (const [key, unit] of Object.entries(checkpoint.units)) {
    pushUnitChanges(changes, key, unit, base);
  }
  for (const [map, entries] of Object.entries(checkpoint.idMaps)) {
    for (const [source, target] of Object.entries(entries)) {
      changes.push({ type: 'id.mapped', map, source, target });
    }
  }
  for (const [name, by] of Object.entries(checkpoint.stats)) {
    changes.push({ type: 'counter.added', name, by });
  }
  for (const [key, value] of Object.entries(checkpoint.meta.user)) {
    changes.push({ type: 'meta.set', key, value });
  }
  const reason = checkpoint.meta.lastSaveReason;
  for (let save = 0; save < checkpoint.meta.saveCount && reason !== null; save++) {
    changes.push({ type: 'saved', at: base, reason });
  }
  changes.push({ type: 'status', at: checkpoint.updatedAt, status: checkpoint.status });
  return changes;
}

function pushUnitChanges(changes: Change[], key: string, unit: Unit, base: string): void {
  changes.push({ type: 'unit.planned', at: base, key, total: unit.total });
  let status: UnitStatus = 'pending';
  for (let attempt = 0; attempt < unit.attempts; attempt++) {
    changes.push({ type: 'unit.started', at: unit.startedAt ?? base, key });
    status = 'in_progress';
  }
  if (unit.attempts > 0 && unit.startedAt === null) {
    changes.push({ type: 'unit.reset', at: base, key, keepCursor: false });
    status = 'pending';
  }
  const moved = unit.cursor !== null || !Object.is(unit.done, 0);
  if (moved || (unit.status === 'in_progress' && status === 'pending')) {
    changes.push({ type: 'unit.progressed', at: base, key, cursor: unit.cursor, done: unit.done });
    status = 'in_progress';
  }
  switch (unit.status) {
    case 'complete':
      changes.push({ type: 'unit.completed', at: unit.completedAt as string, key });
      break;
    case 'failed': {
      if (unit.completedAt !== null) {
        changes.push({ type: 'unit.completed', at: unit.completedAt, key });
      }
      const error = unit.error as NonNullable<Unit['error']>;
      const { message, retryable } = error;
      changes.push({
        type: 'unit.failed',
        at: error.at,
        key,
        message,
        retryable,
        ...(error.cause && { cause: { ...error.cause } }),
      });
      break;
    }
    case 'pending':
      if (status !== 'pending')
        changes.push({ type: 'unit.reset', at: base, key, keepCursor: true });
      break;
    case 'in_progress':
      break;
  }
}

/** Why no change log gives this checkpoint, or null when one does. */
function unwritable(checkpoint: Checkpoint): string | null {
  const { updatedAt } = checkpoint;
  const late = (what: string, at: string | null | undefined) =>
    at != null && at > updatedAt ? `${what} ${at} is later than updatedAt ${updatedAt}` : null;
  const problem = late('createdAt', checkpoint.createdAt);
  if (problem) return problem;
  for (const [key, unit] of Object.entries(checkpoint.units)) {
    const found =
      (key === '' ? 'the key is empty' : null) ??
      unitState(unit) ??
      late('startedAt', unit.startedAt) ??
      late('completedAt', unit.completedAt) ??
      late('error.at', unit.error?.at);
    if (found) return `unit ${JSON.stringify(key)}: ${found}`;
  }
  for (const [map, entries] of Object.entries(checkpoint.idMaps)) {
    if (map === '') return 'an id map has an empty name';
    if (Object.keys(entries).length === 0) return `id map ${JSON.stringify(map)} is empty`;
  }
  for (const [name, value] of Object.entries(checkpoint.stats)) {
    if (name === '') return 'a counter has an empty name';
    if (Object.is(value, -0)) return `counter ${JSON.stringify(name)} is -0`;
  }
  if ('' in checkpoint.meta.user) return 'a meta.user member has an empty name';
  const { saveCount, lastSaveReason } = checkpoint.meta;
  if (saveCount > MAX_REPEAT) return `saveCount ${saveCount} is over ${MAX_REPEAT}`;
  if (Object.is(saveCount, -0)) return 'saveCount is -0';
  if (saveCount > 0 !== (lastSaveReason !== null)) {
    return saveCount > 0 ? 'saves without a lastSaveReason' : 'a lastSaveReason without a save';
  }
  return null;
}

/** Why the reducer cannot reach this unit's combination of fields, or null when it can. */
function unitState(unit: Unit): string | null {
  if (unit.attempts > MAX_REPEAT) return `attempts ${unit.attempts} is over ${MAX_REPEAT}`;
  if (Object.is(unit.attempts, -0)) return 'attempts is -0';
  if (unit.attempts === 0 && unit.startedAt !== null) return 'startedAt without an attempt';
  switch (unit.status) {
    case 'complete':
      if (unit.completedAt === null) return 'complete without completedAt';
      if (unit.error !== null) return 'complete with an error';
      return null;
    case 'failed':
      return unit.error === null ? 'failed without an error' : null;
    default:
      if (unit.error !== null) return `${unit.status} with an error`;
      if (unit.completedAt !== null) return `${unit.status} with completedAt`;
      return null;
  }
}
