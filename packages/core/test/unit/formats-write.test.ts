import { describe, expect, it } from 'vitest';
import {
  ChangeSchema,
  type Checkpoint,
  CheckpointFormatError,
  checkpointToChanges,
  emptyUnit,
  memoryStore,
  parseCheckpointJson,
  replay,
  type Unit,
} from '../../src/index.js';
import { changeLog } from '../../src/testing/fixtures.js';
import { allFixtures, fixtureText } from '../fixtures/formats/load.js';

/** Writes a checkpoint as changes and replays them: must give the checkpoint back exactly. */
function roundTrip(checkpoint: Checkpoint): Checkpoint | null {
  const changes = checkpointToChanges(checkpoint);
  for (const change of changes) expect(ChangeSchema.parse(change)).toEqual(change);
  return replay(null, changes);
}

const base = (): Checkpoint => replay(null, changeLog('job'))!;

describe('checkpointToChanges', () => {
  it.each(allFixtures().map(({ name }) => name))('round-trips %s exactly', (name) => {
    const { checkpoint } = parseCheckpointJson(fixtureText(name), { file: name });
    expect(roundTrip(checkpoint)).toEqual(checkpoint);
  });

  it("round-trips core's sample change log, ids with odd characters included", () => {
    for (const id of ['job', 'nul\u0000byte', 'ünïcødé 🚀']) {
      const checkpoint = replay(null, changeLog(id))!;
      expect(roundTrip(checkpoint)).toEqual(checkpoint);
    }
  });

  it('reproduces every reachable unit state: attempts, times, cursor, error and status', () => {
    const t = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
    const units: Record<string, Unit> = {
      fresh: emptyUnit(),
      planned: emptyUnit(12),
      retried: {
        ...emptyUnit(),
        status: 'in_progress',
        attempts: 4,
        startedAt: t(5),
        cursor: 'x',
        done: 3,
      },
      'moved-only': { ...emptyUnit(), status: 'in_progress', cursor: { page: 2 } },
      'in-progress-bare': { ...emptyUnit(), status: 'in_progress' },
      'reset-kept': {
        ...emptyUnit(5),
        status: 'pending',
        attempts: 2,
        startedAt: t(3),
        cursor: [1, 2],
        done: 2,
      },
      'reset-nothing': { ...emptyUnit(), status: 'pending', attempts: 3, done: 1 },
      'pending-cursor': { ...emptyUnit(), cursor: 9 },
      'complete-bare': { ...emptyUnit(), status: 'complete', completedAt: t(6) },
      'complete-retried': {
        ...emptyUnit(10),
        status: 'complete',
        attempts: 2,
        startedAt: t(2),
        completedAt: t(7),
        done: 10,
        cursor: null,
      },
      'failed-after-complete': {
        ...emptyUnit(),
        status: 'failed',
        attempts: 1,
        startedAt: t(1),
        completedAt: t(2),
        error: { message: 'boom', retryable: false, at: t(8) },
      },
      'failed-unstarted': {
        ...emptyUnit(),
        status: 'failed',
        done: 4,
        error: { message: 'x', retryable: true, at: t(0) },
      },
    };
    const checkpoint: Checkpoint = { ...base(), units, updatedAt: t(9) };
    expect(roundTrip(checkpoint)).toEqual(checkpoint);
    expect(
      roundTrip({
        ...checkpoint,
        status: 'completed',
        meta: { ...checkpoint.meta, saveCount: 0, lastSaveReason: null },
      }),
    ).toEqual({
      ...checkpoint,
      status: 'completed',
      meta: { ...checkpoint.meta, saveCount: 0, lastSaveReason: null },
    });
  });

  it('writes into a store, which loads the same checkpoint back', async () => {
    const { checkpoint } = parseCheckpointJson(
      fixtureText('seed-003/target=sample-org/checkpoint.json'),
    );
    const store = memoryStore();
    await store.append(checkpoint.id, checkpointToChanges(checkpoint));
    expect(await store.load(checkpoint.id)).toEqual(checkpoint);
  });

  it('refuses checkpoints no change log gives, naming the unit and the cause', () => {
    const withUnit = (unit: Partial<Unit>): Checkpoint => ({
      ...base(),
      units: { 'a/b': { ...emptyUnit(), ...unit } },
    });
    const cases: [Checkpoint, RegExp][] = [
      [withUnit({ status: 'complete' }), /unit "a\/b": complete without completedAt/],
      [withUnit({ status: 'failed' }), /unit "a\/b": failed without an error/],
      [withUnit({ startedAt: '2026-01-01T00:01:00.000Z' }), /startedAt without an attempt/],
      [
        withUnit({
          status: 'in_progress',
          error: { message: 'm', retryable: true, at: '2026-01-01T00:01:00.000Z' },
        }),
        /in_progress with an error/,
      ],
      [
        withUnit({ status: 'complete', completedAt: '2027-01-01T00:00:00.000Z' }),
        /completedAt 2027-01-01T00:00:00.000Z is later than updatedAt/,
      ],
      [
        { ...base(), createdAt: '2027-01-01T00:00:00.000Z' },
        /createdAt .* is later than updatedAt/,
      ],
      [{ ...base(), idMaps: { empty: {} } }, /id map "empty" is empty/],
      [
        { ...base(), meta: { saveCount: 2, lastSaveReason: null, user: {} } },
        /saves without a lastSaveReason/,
      ],
      [
        { ...base(), meta: { saveCount: 0, lastSaveReason: 'why', user: {} } },
        /a lastSaveReason without a save/,
      ],
    ];
    for (const [checkpoint, cause] of cases) {
      expect(() => checkpointToChanges(checkpoint)).toThrow(CheckpointFormatError);
      expect(() => checkpointToChanges(checkpoint)).toThrow(cause);
    }
  });
});
