import { summarize } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import {
  checkpointDescription,
  checkpointIcon,
  checkpointTooltip,
  fence,
  formatAge,
  formatCursor,
  formatLabel,
  groupIcon,
  unitDescription,
  unitTooltip,
} from '../../src/model/present.js';
import { checkpointWith, T0 } from './checkpoints.js';

const t0 = Date.parse(T0);

describe('present', () => {
  it('says how old a checkpoint is', () => {
    expect(formatAge(T0, t0 + 2_000)).toBe('just now');
    expect(formatAge(T0, t0 + 42_000)).toBe('42 s ago');
    expect(formatAge(T0, t0 + 5 * 60_000)).toBe('5 min ago');
    expect(formatAge(T0, t0 + 3 * 3_600_000)).toBe('3 h ago');
    expect(formatAge(T0, t0 + 50 * 3_600_000)).toBe('2 d ago');
    expect(formatAge('not a date', t0)).toBe('unknown age');
  });

  it('describes a checkpoint with percent, failures, age, seed format and lock', () => {
    const summary = summarize(
      checkpointWith('x', { a: 'complete', b: 'failed', c: 'pending', d: 'complete' }),
    );
    expect(
      checkpointDescription(summary, {
        now: t0 + 60_000,
        format: 'checkpointkit/1',
        locked: false,
      }),
    ).toBe('50.0% · 1 failed · 1 min ago');
    expect(checkpointDescription(summary, { now: t0, format: 'seed-002/2.0', locked: true })).toBe(
      '50.0% · 1 failed · just now · seed 002 v2.0 · locked',
    );
  });

  it('rounds the percent as the CLI does: 26 of 30 units is 86.7%', () => {
    const units: Record<string, 'complete' | 'pending'> = {};
    for (let unit = 1; unit <= 30; unit++) units[`u${unit}`] = unit <= 26 ? 'complete' : 'pending';
    const summary = summarize(checkpointWith('x', units));
    expect(
      checkpointDescription(summary, { now: t0, format: 'checkpointkit/1', locked: false }),
    ).toBe('86.7% · just now');
    const tooltip = checkpointTooltip(summary, {
      file: 'x.checkpoint.json',
      format: 'checkpointkit/1',
      lockOwner: null,
    });
    expect(tooltip).toContain('86.7% complete');
    expect(tooltip).not.toContain('86.6');
  });

  it('calls a partly written last batch a crash only when no job holds the lock', () => {
    const summary = summarize(checkpointWith('x', { a: 'pending' }));
    const options = { file: 'x.checkpoint.json', format: 'checkpointkit/1', tornTail: true };
    expect(checkpointTooltip(summary, { ...options, lockOwner: null })).toContain(
      'a crash mid-save',
    );
    // A running job's save read half-way: not a crash.
    const running = checkpointTooltip(summary, {
      ...options,
      lockOwner: { pid: 4242, host: 'build-1', since: T0 },
    });
    expect(running).toContain('a job holds its lock');
    expect(running).not.toMatch(/crash|partly written/);
  });

  it('names a lock whose owner file is unreadable', () => {
    const summary = summarize(checkpointWith('x', { a: 'pending' }));
    const tooltip = checkpointTooltip(summary, {
      file: 'x.checkpoint.json',
      format: 'checkpointkit/1',
      lockOwner: {
        pid: 0,
        host: 'unknown host',
        since: T0,
        unreadableOwnerFile: '.checkpoints/x.checkpoint.lock/owner.json',
      },
    });
    // The path is Markdown-escaped in the tooltip.
    expect(tooltip).toMatch(/an unknown process: its owner file .*owner.*json is unreadable/);
    expect(tooltip).not.toContain('pid 0');
  });

  it('names the seed formats', () => {
    expect(formatLabel('checkpointkit/1')).toBeNull();
    expect(formatLabel('seed-000/1.0')).toBe('seed 000 v1.0');
    expect(formatLabel('seed-003')).toBe('seed 003');
  });

  it('picks icons that show failures first', () => {
    expect(checkpointIcon('failed', 0).id).toBe('error');
    expect(checkpointIcon('interrupted', 2).id).toBe('warning');
    expect(checkpointIcon('completed', 0).id).toBe('pass');
    expect(checkpointIcon('running', 0).id).toBe('sync');
    expect(groupIcon({ pending: 1, in_progress: 1, complete: 1, failed: 1 }).id).toBe('error');
    expect(groupIcon({ pending: 0, in_progress: 0, complete: 3, failed: 0 }).id).toBe('pass');
  });

  it('describes a unit with retryability, attempts, cursor and counts', () => {
    const cp = checkpointWith('x', { a: 'failed', b: 'pending' });
    expect(unitDescription(cp.units['a']!)).toBe(
      'retryable · attempts 1 · cursor {"page":3} · 3/10',
    );
    expect(unitDescription(cp.units['b']!)).toBe('attempts 0 · 0/10');
  });

  it('shows the error of a failed unit in its tooltip, fenced whatever it holds', () => {
    const cp = checkpointWith('x', { 'collect/a': 'failed' });
    const tooltip = unitTooltip('collect/a', cp.units['collect/a']!);
    expect(tooltip).toContain('HTTP 502 on collect/a');
    expect(tooltip).toContain('retryable');
    expect(fence('a ``` b')).toBe('````text\na ``` b\n````');
  });

  it('cuts long cursors', () => {
    expect(formatCursor('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(formatCursor(17)).toBe('17');
  });

  it('puts counts, counters, file and lock owner in the checkpoint tooltip', () => {
    const cp = checkpointWith('job', { a: 'complete', b: 'failed' });
    cp.stats['imported'] = 42;
    cp.idMaps['matrix-event'] = { $a: 1, $b: 2 };
    const text = checkpointTooltip(summarize(cp), {
      file: '.checkpoints/job.checkpoint.json',
      format: 'checkpointkit/1',
      lockOwner: { pid: 123, host: 'box', since: T0 },
    });
    expect(text).toContain('| 1 | 0 | 0 | 1 | 2 |');
    expect(text).toContain('imported: 42');
    expect(text).toContain('id map matrix\\-event: 2 ids');
    expect(text).toContain('pid 123 on box');
  });
});
