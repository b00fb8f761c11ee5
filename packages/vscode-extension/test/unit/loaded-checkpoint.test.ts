import { summarize } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { loadedCheckpoint } from '../../src/state/entry.js';
import { checkpointWith } from './checkpoints.js';

const sample = checkpointWith('job:lazy', { 'a/one': 'complete', 'a/two': 'failed', b: 'pending' });

describe('loadedCheckpoint', () => {
  it('builds the checkpoint when first asked for, once, and the unit tree from it', () => {
    let builds = 0;
    const value = loadedCheckpoint(
      {
        format: 'checkpointkit/1',
        summary: summarize(sample),
        lockOwner: null,
        tornTail: false,
        lost: null,
      },
      () => {
        builds += 1;
        return structuredClone(sample);
      },
    );
    expect(value.summary.id).toBe('job:lazy');
    expect(value.built).toBe(false);
    expect(builds).toBe(0);
    expect(value.tree.children().map((child) => child.label)).toEqual(['a', 'b']);
    expect(value.built).toBe(true);
    expect(value.checkpoint).toEqual(sample);
    expect(value.checkpoint).toBe(value.checkpoint);
    expect(builds).toBe(1);
  });

  it('keeps fields the registry updates (the lock owner) writable', () => {
    const value = loadedCheckpoint(
      {
        format: 'checkpointkit/1',
        summary: summarize(sample),
        lockOwner: null,
        tornTail: false,
        lost: null,
      },
      () => sample,
    );
    value.lockOwner = { pid: 7, host: 'h', since: '2026-01-01T00:00:00.000Z' };
    expect(value.lockOwner.pid).toBe(7);
    expect(value.built).toBe(false);
  });
});
