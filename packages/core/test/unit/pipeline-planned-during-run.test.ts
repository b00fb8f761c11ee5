import { describe, expect, it } from 'vitest';
import {
  memoryStore,
  openRun,
  type PipelineEvent,
  pipeline,
  type Run,
  type Sink,
  type Source,
} from '../../src/index.js';

/** A discovery unit whose pages plan one child unit each; a child yields one item. */
function discoveringSource(children: number, failChild?: string): Source<string> {
  let run: Run | undefined;
  return {
    units(context) {
      run = context.run;
      return [{ key: 'discover' }];
    },
    async *read({ key, cursor }) {
      if (key === 'discover') {
        for (let i = (cursor as number | null) ?? 0; i < children; i++) {
          await run?.plan([`child/${i}`]);
          yield { items: [`found ${i}`], cursor: i + 1 };
        }
        return;
      }
      if (key === failChild) throw new Error(`${key} is down`);
      yield { items: [`read ${key}`], cursor: 'end' };
    },
  };
}

const collecting = (): Sink<string> & { seen: string[] } => {
  const seen: string[] = [];
  return { seen, write: (items) => void seen.push(...items) };
};

describe('pipeline: units planned while the pipeline runs', () => {
  it('works on units a source plans during a read, in the same call', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = collecting();
    const events: PipelineEvent[] = [];
    const result = await pipeline({
      run,
      source: discoveringSource(3),
      sink,
      concurrency: 2,
      onProgress: (event) => events.push(event),
    });
    expect(result).toMatchObject({ completed: 4, failed: 0, aborted: false });
    expect(sink.seen).toEqual([
      'found 0',
      'found 1',
      'found 2',
      'read child/0',
      'read child/1',
      'read child/2',
    ]);
    const planned = events.filter((event) => event.type === 'planned');
    expect(planned).toMatchObject([
      { units: 1, pending: 1 },
      { units: 4, pending: 3 },
    ]);
    await run.close();
  });

  it('tries a unit that fails once per call, even when its failure is retryable', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const result = await pipeline({
      run,
      source: discoveringSource(2, 'child/1'),
      sink: collecting(),
    });
    expect(result).toMatchObject({ completed: 2, failed: 1 });
    expect(run.unit('child/1')).toMatchObject({ status: 'failed', attempts: 1 });
    await run.close();
  });
});
