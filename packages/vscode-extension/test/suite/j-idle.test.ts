import * as assert from 'node:assert/strict';
import { loaded } from '../../src/state/entry.js';
import { CheckpointRegistry } from '../../src/state/registry.js';
import { FIXTURE } from '../fixtures/workspace.js';
import { api } from './helpers.js';

suite('waiting for the registry', () => {
  test('a read that will never come (its checkpoint’s files deleted meanwhile) does not keep whenIdle waiting', async () => {
    await api();
    const registry = new CheckpointRegistry();
    try {
      await registry.scan();
      await registry.whenIdle();
      const failing = registry
        .entries()
        .find((entry) => loaded(entry)?.checkpoint.id === FIXTURE.failing)!;
      assert.ok(failing, 'the fixture checkpoint');
      // A live update runs at once; the next one waits for its interval.
      registry.requestRead(failing);
      await registry.whenIdle();
      registry.requestRead(failing);
      const idle = registry.whenIdle().then(() => true);
      // Then its files go: the waiting read is dropped with the checkpoint.
      const files = failing.files;
      assert.equal(files.kind, 'canonical');
      if (files.kind !== 'canonical') return;
      // As a delete reports them: what the store keeps beside them (which alone would keep the
      // checkpoint in view, damaged), the snapshot, the journal.
      registry.applyEvents([
        ...(files.leftover ? [{ kind: 'deleted' as const, uri: files.leftover }] : []),
        { kind: 'deleted', uri: files.snapshot! },
        { kind: 'deleted', uri: files.journal! },
      ]);
      const settled = await Promise.race([
        idle,
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
      ]);
      assert.equal(settled, true, 'idle once the deleted checkpoint is gone');
      assert.equal(registry.get(failing.key), undefined);
    } finally {
      registry.dispose();
    }
  });
});
