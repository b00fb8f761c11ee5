import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { CheckpointKitApi } from '../../src/api.js';
import type { Outcome } from '../../src/commands/context.js';
import type { Ui } from '../../src/ui.js';
import { FIXTURE } from '../fixtures/workspace.js';
import {
  api,
  eventually,
  fixture,
  labelOf,
  nodeOf,
  onDisk,
  RecordingUi,
  startHelper,
  stopHelper,
  watcherReady,
} from './helpers.js';

const run = (command: string, ...args: unknown[]) =>
  vscode.commands.executeCommand<Outcome | undefined>(command, ...args);

suite('a checkpoint whose lock a running job holds', () => {
  let kit: CheckpointKitApi;
  let previous: Ui;
  let holder: ChildProcess | undefined;
  let pid = 0;
  const dir = join(fixture().project, 'locked/.checkpoints');

  suiteSetup(async () => {
    kit = await api();
    previous = kit.setUi(new RecordingUi());
    await watcherReady(kit);
    const started = await startHelper('hold-lock', [dir, FIXTURE.locked]);
    holder = started.child;
    pid = Number(started.firstLine.split(' ')[1]);
  });
  suiteTeardown(async () => {
    kit.setUi(previous);
    if (holder) await stopHelper(holder);
  });

  test('every edit refuses, naming the lock owner, and the files stay as they are', async () => {
    // Right after the job took the lock: whether or not the view has noticed yet, edits refuse.
    const node = await nodeOf(kit, FIXTURE.locked);
    const before = await onDisk(dir, FIXTURE.locked);
    for (const command of ['checkpointkit.resetFailed', 'checkpointkit.delete']) {
      const outcome = await run(command, node);
      assert.equal(outcome?.ok, false, command);
      assert.match(
        outcome?.message ?? '',
        new RegExp(
          `"job:locked" is read-only while a job \\(pid ${pid} on .+ since .+\\) holds its lock`,
        ),
      );
    }
    assert.deepEqual(await onDisk(dir, FIXTURE.locked), before);
  });

  test('the tree shows it read-only, with who holds it', async () => {
    const item = await eventually('the lock to show', async () => {
      const current = kit.provider.getTreeItem(await nodeOf(kit, FIXTURE.locked));
      return /\blocked\b/.test(String(current.contextValue)) ? current : undefined;
    });
    assert.match(String(item.description), /· locked/);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'lock');
    assert.doesNotMatch(String(item.contextValue), /\beditable\b/);
    const children = await kit.provider.getChildren(await nodeOf(kit, FIXTURE.locked));
    assert.match(
      labelOf(kit.provider.getTreeItem(children[0]!)),
      new RegExp(`^Read-only: locked by pid ${pid} on `),
    );
    const unit = (await kit.provider.getChildren(children.at(-1)!)).map((n) =>
      kit.provider.getTreeItem(n),
    );
    assert.ok(unit.every((u) => !/\beditable\b/.test(String(u.contextValue))));
  });

  test('when the job ends, the checkpoint can be edited again', async () => {
    if (holder) await stopHelper(holder);
    holder = undefined;
    await eventually('the lock to go', async () =>
      /\beditable\b/.test(
        String(kit.provider.getTreeItem(await nodeOf(kit, FIXTURE.locked)).contextValue),
      ),
    );
    const outcome = await run('checkpointkit.resetFailed', await nodeOf(kit, FIXTURE.locked));
    assert.equal(outcome?.ok, true, outcome?.message);
    assert.equal((await onDisk(dir, FIXTURE.locked))?.units['a/2']?.status, 'pending');
  });
});
