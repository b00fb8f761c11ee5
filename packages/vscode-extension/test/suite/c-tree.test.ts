import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MoreNode } from '../../src/tree/nodes.js';
import { FIXTURE } from '../fixtures/workspace.js';
import { api, descend, labelOf, nodeOf, tooltipText } from './helpers.js';

suite('tree', () => {
  test('a checkpoint shows its status icon, percent, failures and age, and a Markdown summary tooltip', async () => {
    const kit = await api();
    const item = kit.provider.getTreeItem(await nodeOf(kit, FIXTURE.failing));
    assert.match(String(item.description), /^33\.3% · 2 failed · \d+ d ago · \.checkpoints$/);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'error');
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    const tooltip = tooltipText(item);
    assert.match(tooltip, /\| 2 \| 1 \| 1 \| 2 \| 6 \|/);
    assert.match(tooltip, /requests: 1234/);
    assert.match(
      String(item.contextValue),
      /\bcheckpoint\b.*\bcanonical\b.*\bhasFailed\b.*\beditable\b/,
    );
  });

  test('under a checkpoint: counters, id map sizes, then unit groups by key path', async () => {
    const kit = await api();
    const checkpoint = await nodeOf(kit, FIXTURE.failing);
    const children = await kit.provider.getChildren(checkpoint);
    assert.deepEqual(
      children.map((child) => labelOf(kit.provider.getTreeItem(child))),
      ['Counters', 'Id maps', 'discover', 'collect'],
    );
    const counters = await kit.provider.getChildren(children[0]);
    assert.deepEqual(
      counters.map((c) => [
        labelOf(kit.provider.getTreeItem(c)),
        kit.provider.getTreeItem(c).description,
      ]),
      [
        ['requests', '1,234'],
        ['records', '420'],
      ],
    );
    const maps = await kit.provider.getChildren(children[1]);
    assert.equal(kit.provider.getTreeItem(maps[0]!).description, '3 ids');
    const collect = kit.provider.getTreeItem(children[3]!);
    assert.equal(collect.description, '1/5 · 2 failed');
  });

  test('a unit shows its status icon, cursor and attempts, with the error as tooltip', async () => {
    const kit = await api();
    const unit = await descend(
      kit,
      await nodeOf(kit, FIXTURE.failing),
      'collect',
      'acme',
      'api',
      'issues',
    );
    const item = kit.provider.getTreeItem(unit);
    assert.equal(item.description, 'retryable · attempts 1 · cursor {"page":3} · 3/5');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'error');
    assert.match(tooltipText(item), /HTTP 502 Bad Gateway on collect\/acme\/api\/issues/);
    assert.match(String(item.contextValue), /\bunit\b.*\bfailed\b.*\beditable\b/);
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.None);
  });

  test('a seed-format checkpoint is shown read-only, with its format', async () => {
    const kit = await api();
    const item = kit.provider.getTreeItem(await nodeOf(kit, FIXTURE.seed003));
    assert.match(
      String(item.description),
      /^25\.0% · 2 failed · \d+ d ago · seed 003 · data\/raw\/target=sample-org$/,
    );
    assert.match(String(item.contextValue), /\bseed\b.*\bmigratable\b/);
    assert.doesNotMatch(String(item.contextValue), /\beditable\b/);
    const repos = await descend(kit, await nodeOf(kit, FIXTURE.seed003), 'repos', 'sample-org');
    const labels = (await kit.provider.getChildren(repos)).map((child) =>
      labelOf(kit.provider.getTreeItem(child)),
    );
    assert.deepEqual(labels, ['api', 'web', 'private-infra', 'docs', 'sdk']);
  });

  test('pages a large level: the first 500, then "Show 500 more" until all are shown', async () => {
    const kit = await api();
    const checkpoint = await nodeOf(kit, FIXTURE.big);
    let children = await kit.provider.getChildren(checkpoint);
    assert.equal(children.length, 501);
    let more = children.at(-1) as MoreNode;
    assert.equal(more.type, 'more');
    assert.equal(labelOf(kit.provider.getTreeItem(more)), 'Show 500 more');
    assert.equal(kit.provider.getTreeItem(more).description, '700 not shown');
    await vscode.commands.executeCommand('checkpointkit.showMore', more);
    children = await kit.provider.getChildren(checkpoint);
    assert.equal(children.length, 1001);
    more = children.at(-1) as MoreNode;
    assert.equal(labelOf(kit.provider.getTreeItem(more)), 'Show 200 more');
    await vscode.commands.executeCommand('checkpointkit.showMore', more);
    children = await kit.provider.getChildren(checkpoint);
    assert.equal(children.length, FIXTURE.bigUnits);
    assert.equal(labelOf(kit.provider.getTreeItem(children.at(-1)!)), 'unit-001199');
  });

  test('the badge counts checkpoints with failures', async () => {
    const kit = await api();
    // github:acme/pulls, big:flat, job:locked, matrix:room, and the seeds 000 and 003.
    assert.equal(kit.view.badge?.value, 6);
    assert.equal(kit.view.badge?.tooltip, '6 checkpoints with failed units');
  });
});
