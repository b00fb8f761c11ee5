import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CheckpointKitApi } from '../../src/api.js';
import { type CheckpointEntry, loaded } from '../../src/state/entry.js';
import { api, eventually, exitOf, fixture, nodeOf, startHelper, watcherReady } from './helpers.js';

const ID = 'live:job';
const UNITS = 30;
const DELAY_MS = 100;

suite('a job running in the terminal', () => {
  test('shows live: percent and statuses update while the journal grows, throttled, without a rescan', async () => {
    const kit: CheckpointKitApi = await api();
    await watcherReady(kit);
    const scans = kit.registry.scanCount;
    const dir = join(fixture().project, '.checkpoints');
    const started = Date.now();
    const job = await startHelper('run-job', [dir, ID, String(UNITS), String(DELAY_MS)]);
    const entryOf = () =>
      kit.registry
        .entries()
        .find((entry): entry is CheckpointEntry => loaded(entry)?.checkpoint.id === ID);
    const seen = new Set<number>();
    let sawLock = false;
    const exit = exitOf(job.child);
    let finished = false;
    void exit.then(() => {
      finished = true;
    });
    while (!finished) {
      const value = loaded(entryOf());
      if (value) {
        seen.add(value.summary.percent);
        if (value.lockOwner) sawLock = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    assert.equal(await exit, 0);
    const final = await eventually('the finished state', () => {
      const value = loaded(entryOf());
      return value?.summary.percent === 100 &&
        value.checkpoint.status === 'completed' &&
        !value.lockOwner
        ? value
        : undefined;
    });
    const elapsed = Date.now() - started;
    const intermediate = [...seen].filter((p) => p > 0 && p < 100);
    assert.ok(intermediate.length >= 3, `saw progress as it happened: ${[...seen].join(', ')}`);
    assert.ok(sawLock, 'shown as locked while the job ran');
    assert.equal(final.summary.counts.complete, UNITS);
    assert.equal(kit.registry.scanCount, scans, 'no workspace search for a growing journal');
    const reads = kit.registry.readCount(entryOf()!.key);
    // checkpointkit.liveUpdateInterval (300 ms) between two reads: never more than elapsed / 300 + the first.
    assert.ok(reads <= Math.floor(elapsed / 300) + 2, `${reads} reads in ${elapsed} ms`);
    const item = kit.provider.getTreeItem(await nodeOf(kit, ID));
    assert.match(String(item.description), /^100\.0% · /);
  });
});
