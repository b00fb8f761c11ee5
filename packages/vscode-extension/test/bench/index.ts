/**
 * The benchmark's measurements inside the extension host (run like a test suite, through the
 * code-server wrapper): from activation to the tree listed and fully read, and the first page of
 * the big checkpoint, computed cold. Writes them as JSON to CHECKPOINTKIT_BENCH_OUT.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { CheckpointKitApi } from '../../src/api.js';

export interface BenchFigures {
  listedMs: number;
  firstTreeMs: number;
  /** Event-loop time the reads up to the populated tree spent parsing files. */
  parseMs: number;
  firstPageMs: number;
  firstPageItems: number;
  checkpoints: number;
}

export async function run(): Promise<void> {
  const out = process.env['CHECKPOINTKIT_BENCH_OUT'];
  const bigId = process.env['CHECKPOINTKIT_BENCH_BIG'];
  if (!out || !bigId)
    throw new Error('CHECKPOINTKIT_BENCH_OUT and CHECKPOINTKIT_BENCH_BIG are required');
  const extension = vscode.extensions.getExtension<CheckpointKitApi>(
    'checkpointkit.checkpointkit-vscode',
  );
  if (!extension) throw new Error('the extension is not installed');
  const api = await extension.activate();
  await api.whenIdle();
  while (api.timings.firstTreeMs === null) await new Promise((resolve) => setTimeout(resolve, 10));
  const parseMs = api.registry.parseMs;
  const { provider } = api;
  const roots = await provider.getChildren();
  const big = roots.find((node) => {
    const label = provider.getTreeItem(node).label;
    return (typeof label === 'string' ? label : label?.label) === bigId;
  });
  if (!big) throw new Error(`no checkpoint ${bigId} in the tree`);
  const start = performance.now();
  const page = await provider.getChildren(big);
  for (const node of page) provider.getTreeItem(node);
  const firstPageMs = performance.now() - start;
  const figures: BenchFigures = {
    listedMs: api.timings.listedMs ?? Number.NaN,
    firstTreeMs: api.timings.firstTreeMs,
    parseMs,
    firstPageMs,
    firstPageItems: page.length,
    checkpoints: provider.visibleEntries().length,
  };
  writeFileSync(out, JSON.stringify(figures));
}
