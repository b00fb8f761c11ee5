import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  always,
  formatFailures,
  MemoryStorage,
  memoryStore,
  OptionsError,
  openRun,
  type PipelineEvent,
  pipeline,
  type Source,
  UnitError,
} from '../../src/index.js';

/** Units `u0..u{n-1}` of two pages each; `fail` decides what a read of a unit throws first. */
function source(units: number, fail: (key: string) => Error | undefined = () => undefined) {
  const reads: string[] = [];
  const s: Source<number> = {
    units: () => Array.from({ length: units }, (_, i) => ({ key: `u${i}` })),
    async *read({ key, cursor }) {
      reads.push(key);
      const error = fail(key);
      if (error) throw error;
      for (let page = (cursor as number | null) ?? 0; page < 2; page++) {
        yield { items: [page], cursor: page + 1 };
      }
    },
  };
  return Object.assign(s, { reads });
}

const sink = { write: () => undefined };

describe('pipeline failures', () => {
  it('stops the run at the first refused credentials, fails no unit, and the next run continues', async () => {
    const storage = new MemoryStorage();
    const refused = new AuthenticationError('GitHub', '401 Bad credentials', 'check GITHUB_TOKEN', {
      failureCause: { status: 401, url: 'https://api.github.com/orgs/acme/repos' },
    });
    const open = () =>
      openRun({ id: 'auth', store: memoryStore(storage), strategy: always(), signals: false });
    const run = await open();
    const events: PipelineEvent[] = [];
    // u0 succeeds; u1 and every later unit would be refused.
    const bad = source(3, (key) => (key === 'u0' ? undefined : refused));
    await expect(
      pipeline({ run, source: bad, sink, onProgress: (event) => events.push(event) }),
    ).rejects.toBe(refused);
    // One refusal, not one per unit: the run stopped at once.
    expect(bad.reads).toEqual(['u0', 'u1']);
    expect(events.filter((event) => event.type === 'unit-failed')).toEqual([]);
    expect(refused.message).toMatch(
      /GitHub refused the credentials \(401 Bad credentials\): check GITHUB_TOKEN/,
    );
    await run.close();

    const stored = (await memoryStore(storage).load('auth'))!;
    expect(Object.values(stored.units).map((unit) => unit.status)).toEqual([
      'complete',
      'in_progress',
      'pending',
    ]);
    // A good token: the rerun continues without retryFailed, and u0 is not redone.
    const again = await open();
    const good = source(3);
    const result = await pipeline({ run: again, source: good, sink });
    expect(good.reads).toEqual(['u1', 'u2']);
    expect(result).toMatchObject({ completed: 2, failed: 0, failures: { count: 0 } });
    await again.close();
  });

  it('keeps the structured cause of a failure in the checkpoint and in the result', async () => {
    const storage = new MemoryStorage();
    const run = await openRun({
      id: 'causes',
      store: memoryStore(storage),
      strategy: always(),
      signals: false,
    });
    const notFound = new UnitError('GET /repos/acme/a b: 404 Not Found (not retryable)', {
      retryable: false,
      failureCause: { status: 404, url: 'https://api.github.com/repos/acme/a b' },
    });
    const forbidden = Object.assign(new Error('403'), {
      retryable: false,
      failureCause: { status: 403, errcode: 'M_FORBIDDEN', bogus: 1 },
    });
    const events: PipelineEvent[] = [];
    const result = await pipeline({
      run,
      source: source(4, (key) => ({ u1: notFound, u2: forbidden })[key]),
      sink,
      onProgress: (event) => events.push(event),
    });
    expect(run.unit('u1')?.error?.cause).toEqual({
      status: 404,
      url: 'https://api.github.com/repos/acme/a b',
    });
    expect(run.unit('u2')?.error?.cause).toEqual({ status: 403, errcode: 'M_FORBIDDEN' });
    expect(events.find((event) => event.type === 'unit-failed')).toMatchObject({
      key: 'u1',
      cause: { status: 404 },
    });
    expect(result.failures).toMatchObject({
      count: 2,
      retryable: 0,
      first: [
        { key: 'u1', retryable: false, cause: { status: 404 } },
        { key: 'u2', message: '403' },
      ],
    });
    const text = formatFailures(result.failures);
    expect(text).toContain('2 units FAILED (0 retryable, 2 not)');
    expect(text).toContain('u1: GET /repos/acme/a b: 404 Not Found');
    expect(text).toContain('checkpointkit reset-failed "causes"');
    await run.close();
    // Reloaded from the store: the cause survived.
    const stored = (await memoryStore(storage).load('causes'))!;
    expect(stored.units['u1']?.error?.cause).toEqual({
      status: 404,
      url: 'https://api.github.com/repos/acme/a b',
    });

    // A rerun leaves the failures alone by default, and still reports them.
    const again = await openRun({ id: 'causes', store: memoryStore(storage), signals: false });
    const rerun = await pipeline({ run: again, source: source(4), sink });
    expect(rerun).toMatchObject({ completed: 0, failed: 0, failures: { count: 2 } });
    await again.close();
  });

  it('refuses options it cannot use, naming the option and the accepted values', async () => {
    const run = await openRun({ id: 'opts', store: memoryStore(), signals: false });
    const bad = { run, source: source(1), sink, retryFailed: 'all' } as never;
    const refusal = await pipeline(bad).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OptionsError);
    expect((refusal as OptionsError).message).toBe(
      'pipeline: option "retryFailed" must be true (every failed unit), "retryable" (only retryable ones) or false (got "all")',
    );
    await expect(pipeline({ run, source: source(1), sink, concurrency: 0 })).rejects.toThrow(
      'pipeline: option "concurrency" must be a whole number >= 1 (got 0)',
    );
    expect(() => run.pending({ retryFailed: 'all' as never })).toThrow(
      'run.pending: option "retryFailed" must be true',
    );
    await expect(
      openRun({ id: 'x', store: memoryStore(), onConfigChange: 'replace' as never }),
    ).rejects.toThrow(
      'openRun: option "onConfigChange" must be "error", "reset" or "keep" (got "replace")',
    );
    await run.close();
  });
});
