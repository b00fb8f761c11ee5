import { describe, expect, it } from 'vitest';
import {
  applyChange,
  type Change,
  ChangeSchema,
  CheckpointSchema,
  emptyCheckpoint,
  percentOf,
  replay,
  summarize,
} from '../../src/index.js';
import { changeLog } from '../../src/testing/fixtures.js';

describe('the reducer', () => {
  it('builds a valid checkpoint from a log that uses every change type', () => {
    const checkpoint = replay(null, changeLog('job'))!;
    expect(CheckpointSchema.parse(checkpoint)).toEqual(checkpoint);
    expect(checkpoint.status).toBe('interrupted');
    expect(checkpoint.units['collect/acme/api/pulls']).toMatchObject({
      status: 'complete',
      attempts: 1,
      done: 300,
      total: 300,
    });
    expect(checkpoint.units['collect/acme/api/issues']).toMatchObject({
      status: 'in_progress',
      cursor: 7,
      done: 6.5,
      total: 20,
    });
    expect(checkpoint.units['collect/acme/web/pulls']?.error).toEqual({
      message: 'HTTP 451 — "unavailable"',
      retryable: false,
      at: '2026-01-01T00:08:00.000Z',
      cause: { status: 451, errcode: 'dmca', url: 'https://api.github.com/repos/acme/wéb b/pulls' },
    });
    expect(checkpoint.idMaps['matrix-event']).toEqual({
      '$ev1:example.org': 456,
      '$ev2:example.org': 'c-789',
    });
    expect(checkpoint.stats).toEqual({ requests: 15, ratio: 0.25 });
    expect(checkpoint.meta).toMatchObject({
      saveCount: 1,
      lastSaveReason: expect.stringContaining('16.0%'),
    });
    expect(checkpoint.updatedAt).toBe('2026-01-01T00:10:00.000Z');
  });

  it('accepts every change of the sample log through the schema', () => {
    for (const change of changeLog('job')) expect(ChangeSchema.parse(change)).toEqual(change);
    expect(() => ChangeSchema.parse({ type: 'unit.started', key: 'x' })).toThrow();
  });

  it('does not touch the base it replays onto', () => {
    const base = replay(null, changeLog('job'))!;
    const before = structuredClone(base);
    const after = replay(base, [
      { type: 'unit.removed', at: '2026-01-02T00:00:00.000Z', key: 'collect/acme/api/pulls' },
    ]);
    expect(base).toEqual(before);
    expect(after?.units['collect/acme/api/pulls']).toBeUndefined();
  });

  it('keeps the first target of a mapped id', () => {
    const checkpoint = emptyCheckpoint('job', '2026-01-01T00:00:00.000Z', null);
    applyChange(checkpoint, { type: 'id.mapped', map: 'm', source: 's', target: 1 });
    applyChange(checkpoint, { type: 'id.mapped', map: 'm', source: 's', target: 2 });
    expect(checkpoint.idMaps['m']).toEqual({ s: 1 });
  });

  it('resets a unit from where it stopped or from scratch', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const log: Change[] = [
      { type: 'created', at, id: 'job', configDigest: null },
      { type: 'unit.started', at, key: 'u' },
      { type: 'unit.progressed', at, key: 'u', cursor: 'page-3', done: 30 },
      { type: 'unit.failed', at, key: 'u', message: 'x', retryable: true },
    ];
    const kept = replay(null, [...log, { type: 'unit.reset', at, key: 'u', keepCursor: true }])!;
    expect(kept.units['u']).toMatchObject({
      status: 'pending',
      cursor: 'page-3',
      done: 30,
      error: null,
      attempts: 1,
    });
    const scratch = replay(null, [
      ...log,
      { type: 'unit.reset', at, key: 'u', keepCursor: false },
    ])!;
    expect(scratch.units['u']).toMatchObject({
      status: 'pending',
      cursor: null,
      done: 0,
      error: null,
    });
  });

  it('refuses a log without a checkpoint that does not start with "created"', () => {
    expect(() => replay(null, [{ type: 'counter.added', name: 'x', by: 1 }])).toThrow(
      /must start with "created"/,
    );
  });
});

describe('summarize', () => {
  it('counts units per status, percent, remaining, items and id maps', () => {
    const summary = summarize(replay(null, changeLog('job'))!);
    expect(summary).toMatchObject({
      id: 'job',
      total: 4,
      counts: { pending: 1, in_progress: 1, complete: 1, failed: 1 },
      remaining: 3,
      percent: 25,
      items: { done: 306.5, total: null },
      stats: { requests: 15, ratio: 0.25 },
      idMaps: { 'matrix-event': 2, rows: 1 },
      saveCount: 1,
    });
  });

  it('reports a checkpoint without units as 0% until its run completes, and rounds to one decimal, 100% only when complete', () => {
    const empty = emptyCheckpoint('job', '2026-01-01T00:00:00.000Z', null);
    expect(summarize(empty).percent).toBe(0);
    for (const status of ['interrupted', 'failed'] as const)
      expect(summarize({ ...empty, status }).percent).toBe(0);
    expect(summarize({ ...empty, status: 'completed' }).percent).toBe(100);
    const at = '2026-01-01T00:00:00.000Z';
    // One unit of zero items is measured by its status, not by 0 of 0 items.
    const zeroItems = replay(empty, [{ type: 'unit.planned', at, key: 'a', total: 0 }])!;
    expect(summarize(zeroItems)).toMatchObject({ percent: 0, basis: 'units' });
    const zeroDone = replay(zeroItems, [{ type: 'unit.completed', at, key: 'a' }])!;
    expect(summarize(zeroDone)).toMatchObject({ percent: 100, basis: 'units' });
    const three = replay(empty, [
      { type: 'unit.planned', at, key: 'a' },
      { type: 'unit.planned', at, key: 'b' },
      { type: 'unit.planned', at, key: 'c' },
      { type: 'unit.completed', at, key: 'a' },
      { type: 'unit.completed', at, key: 'b' },
    ])!;
    expect(summarize(three).percent).toBe(66.7);
    expect(percentOf(26, 30)).toBe(86.7);
    expect(percentOf(1, 3)).toBe(33.3);
    expect(percentOf(1, 8)).toBe(12.5);
    // Rounding never claims done (or nothing done) while that is not so.
    expect(percentOf(1999, 2000)).toBe(99.9);
    expect(percentOf(1, 2000)).toBe(0.1);
    expect(percentOf(0, 2000)).toBe(0);
    expect(percentOf(2000, 2000)).toBe(100);
  });
});

describe('keys that name Object.prototype members', () => {
  it('are ordinary keys for units, id maps, counters and meta', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    const log: Change[] = [{ type: 'created', at, id: 'job', configDigest: null }];
    for (const name of names) {
      log.push({ type: 'unit.planned', at, key: name });
      log.push({ type: 'unit.completed', at, key: name, done: 1 });
      log.push({ type: 'id.mapped', map: name, source: name, target: name.length });
      log.push({ type: 'counter.added', name, by: 2 });
      log.push({ type: 'meta.set', key: name, value: name });
    }
    const checkpoint = replay(null, log)!;
    expect(Object.getPrototypeOf(checkpoint.meta.user)).toBe(Object.prototype);
    for (const name of names) {
      expect(Object.hasOwn(checkpoint.units, name)).toBe(true);
      expect(checkpoint.units[name]).toMatchObject({ status: 'complete', done: 1 });
      expect(Object.getOwnPropertyDescriptor(checkpoint.idMaps, name)?.value).toEqual({
        [name]: name.length,
      });
      expect(Object.getOwnPropertyDescriptor(checkpoint.stats, name)?.value).toBe(2);
      expect(Object.getOwnPropertyDescriptor(checkpoint.meta.user, name)?.value).toBe(name);
    }
    const roundTrip = JSON.parse(JSON.stringify(checkpoint)) as typeof checkpoint;
    expect(Object.getOwnPropertyDescriptor(roundTrip.units, '__proto__')?.value.status).toBe(
      'complete',
    );
    expect(summarize(checkpoint).counts.complete).toBe(names.length);
  });
});
