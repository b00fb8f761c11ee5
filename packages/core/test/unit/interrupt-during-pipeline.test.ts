import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  everyUnits,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type Source,
} from '../../src/index.js';

describe('SIGINT while a pipeline runs', () => {
  it('stops the pipeline after the page in flight, and the job code after it does not crash', async () => {
    const storage = new MemoryStorage();
    const target = new EventEmitter();
    const exits: number[] = [];
    const run = await openRun({
      id: 'job',
      store: memoryStore(storage),
      strategy: everyUnits(1000),
      signals: { target, exit: (code) => exits.push(code) },
    });
    let pages = 0;
    const source: Source<number> = {
      units: () => [{ key: 'a' }, { key: 'b' }],
      async *read({ cursor }) {
        for (let page = (cursor as number | null) ?? 0; page < 100; page++) {
          await new Promise((resolve) => setImmediate(resolve));
          yield { items: [page], cursor: page + 1 };
        }
      },
    };
    const result = await pipeline({
      run,
      source,
      sink: {
        write() {
          if (++pages === 5) target.emit('SIGINT');
          return undefined;
        },
      },
    });
    expect(result.aborted).toBe(true);
    expect(run.signal.aborted).toBe(true);
    // What the job does next neither throws nor reaches the store: the process is exiting.
    await expect(run.complete('b')).resolves.toBeUndefined();
    const finished = await Promise.race([
      run.finish().then(() => 'finished'),
      new Promise((resolve) => setImmediate(() => resolve('still waiting'))),
    ]);
    expect(finished).toBe('still waiting');
    await new Promise((resolve) => setImmediate(resolve));
    expect(exits).toEqual([130]);
    const saved = await memoryStore(storage).load('job');
    expect(saved?.status).toBe('interrupted');
    expect(saved?.units['a']?.cursor).toBeGreaterThanOrEqual(4);
    expect(saved?.units['b']?.status).toBe('pending');
  });
});
