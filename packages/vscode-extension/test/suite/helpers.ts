/** Shared by the extension-host tests: the extension's API, the fixture, tree lookups, child processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from '@checkpointkit/core';
import { readCheckpointFiles } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import type { CheckpointKitApi } from '../../src/api.js';
import type { CheckpointNode, TreeNode } from '../../src/tree/nodes.js';
import type { PickItem, Ui } from '../../src/ui.js';

export const EXTENSION_ID = 'checkpointkit.checkpointkit-vscode';

/** The fixture folders (see test/fixtures/workspace.ts), passed by the runner in the environment. */
export function fixture() {
  const root = process.env['CHECKPOINTKIT_FIXTURE'];
  if (!root)
    throw new Error('CHECKPOINTKIT_FIXTURE is not set: run the suite through test/integration');
  return { root, project: join(root, 'project'), second: join(root, 'second') };
}

/** Activates the extension (if VS Code has not yet) and waits for its first scan and reads. */
export async function api(): Promise<CheckpointKitApi> {
  const extension = vscode.extensions.getExtension<CheckpointKitApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not installed`);
  const exports = await extension.activate();
  await exports.whenIdle();
  return exports;
}

/** A UI that records what commands show, confirms as told and picks with a predicate. */
export class RecordingUi implements Ui {
  readonly messages: { level: 'info' | 'warn' | 'error'; text: string }[] = [];
  readonly confirmations: string[] = [];
  readonly picks: string[][] = [];
  answer = true;
  choose: (label: string) => boolean = () => false;

  info(text: string) {
    this.messages.push({ level: 'info', text });
  }
  warn(text: string) {
    this.messages.push({ level: 'warn', text });
  }
  error(text: string) {
    this.messages.push({ level: 'error', text });
  }
  async confirm(message: string) {
    this.confirmations.push(message);
    return this.answer;
  }
  async pick<T>(items: PickItem<T>[]) {
    this.picks.push(items.map((item) => item.label));
    return items.find((item) => this.choose(item.label))?.value;
  }
  last(): string {
    return this.messages.at(-1)?.text ?? '';
  }
}

/** Every checkpoint node of the tree, through folder nodes in a multi-root workspace. */
export async function checkpointNodes(kit: CheckpointKitApi): Promise<CheckpointNode[]> {
  const out: CheckpointNode[] = [];
  const visit = async (nodes: TreeNode[]) => {
    for (const node of nodes) {
      if (node.type === 'checkpoint') out.push(node);
      else if (node.type === 'folder') await visit(await kit.provider.getChildren(node));
    }
  };
  await visit(await kit.provider.getChildren());
  return out;
}

/** The tree node of the checkpoint whose label (its id, or its file name when unreadable) is `label`. */
export async function nodeOf(kit: CheckpointKitApi, label: string): Promise<CheckpointNode> {
  for (const node of await checkpointNodes(kit)) {
    if (labelOf(kit.provider.getTreeItem(node)) === label) return node;
  }
  throw new Error(`no checkpoint "${label}" in the tree`);
}

export function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

export function tooltipText(item: vscode.TreeItem): string {
  return typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? '');
}

/** The child of `parent` whose label is `label`. */
export async function childOf(
  kit: CheckpointKitApi,
  parent: TreeNode,
  label: string,
): Promise<TreeNode> {
  const children = await kit.provider.getChildren(parent);
  const found = children.find((child) => labelOf(kit.provider.getTreeItem(child)) === label);
  if (!found) {
    const labels = children.map((child) => labelOf(kit.provider.getTreeItem(child)));
    throw new Error(`no child "${label}" (children: ${labels.join(', ')})`);
  }
  return found;
}

/** Follows a path of labels down from `start`. */
export async function descend(
  kit: CheckpointKitApi,
  start: TreeNode,
  ...labels: string[]
): Promise<TreeNode> {
  let node = start;
  for (const label of labels) node = await childOf(kit, node, label);
  return node;
}

/** The checkpoint as the file store reads it from disk. */
export async function onDisk(dir: string, id: string): Promise<Checkpoint | null> {
  return (await readCheckpointFiles(dir, id))?.checkpoint ?? null;
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 15_000,
  explain?: () => string,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const why = explain ? ` (${explain()})` : last ? `: ${String(last)}` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let probes = 0;

/**
 * Waits until the file watcher delivers events: the workbench starts its recursive watcher a
 * moment after the window opens, and changes made before that are not reported.
 */
export async function watcherReady(kit: CheckpointKitApi): Promise<void> {
  const name = `watch-probe-${probes++}`;
  const file = join(fixture().project, `${name}.checkpoint.json`);
  const seen = () =>
    kit.registry.entries().some((entry) => entry.key.includes(`/${name}.checkpoint`));
  writeFileSync(file, '{}');
  await eventually('the file watcher', seen, 30_000);
  rmSync(file);
  await eventually('the probe to go', () => !seen());
}

/** Starts a helper of out/test/helpers as its own Node process and waits for its first output line. */
export async function startHelper(
  name: string,
  args: string[],
): Promise<{ child: ChildProcess; firstLine: string; lines: string[] }> {
  const script = join(__dirname, '..', 'helpers', `${name}.cjs`);
  // In desktop VS Code the extension host's executable is Electron: make it behave as Node.
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length === 1) resolve(line);
      }
    });
    // 'close', not 'exit': the first line may still be in the pipe when the process exits.
    child.on('close', (code) =>
      reject(new Error(`${name} exited with ${code} before its first line: ${stderr}`)),
    );
  });
  return { child, firstLine, lines };
}

/** Ends a helper (closes its input) and waits for it to exit. */
export async function stopHelper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin?.end();
  await exited;
}

export async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((resolve) => child.once('exit', resolve));
}
