/**
 * checkpointkit-vscode in code-server (the real VS Code workbench and extension host): on a
 * generated workspace of 20,000 files holding 200 checkpoints, one of 100,000 units, the time
 * from activation to a populated tree and to the first page of the big checkpoint. Baseline: the
 * same measurements on a workspace of one checkpoint of 100 units, in the same run. Goals (from
 * the extension's issue): populated tree under 1 s, first page under 300 ms.
 *
 * Then the same again on a busy machine: one CPU-bound process per core runs beside code-server
 * for the whole measurement, as a build or a test run would.
 *
 * Needs scripts/vscode-deps.sh (Node 24, code-server, Chromium); says so and skips otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BenchFigures,
  buildBigWorkspace,
  buildExtension,
  buildTinyWorkspace,
  measure,
  missingTools,
} from '../../../packages/vscode-extension/test/bench/run.js';
import { limit, note, report, type Suite, skipped } from '../lib.js';

const RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Busy loops in processes of their own: a machine whose every core is taken. */
function burnCpu(count: number): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
}

type Workspace = Awaited<ReturnType<typeof buildBigWorkspace>>;

/** Medians of {@link RUNS} code-server starts on each workspace, reported with their goals. */
async function figuresOf(
  big: Workspace,
  tiny: Awaited<ReturnType<typeof buildTinyWorkspace>>,
  machine: string,
) {
  const bigRuns: BenchFigures[] = [];
  const tinyRuns: BenchFigures[] = [];
  for (let i = 0; i < RUNS; i++) {
    bigRuns.push(await measure(big));
    tinyRuns.push(await measure(tiny));
  }
  const m = (runs: BenchFigures[], key: keyof BenchFigures) => median(runs.map((r) => r[key]));
  note(
    `checkpoints shown (${machine})`,
    `${m(bigRuns, 'checkpoints')} (of ${big.checkpoints}; dependencies not searched)`,
  );
  report({
    what: `activation to the checkpoints listed in the tree (median of ${RUNS} code-server starts, ${machine})`,
    subject: { label: '20,000 files, 200 checkpoints', value: m(bigRuns, 'listedMs'), unit: 'ms' },
    baseline: { label: '1 checkpoint, 20 files', value: m(tinyRuns, 'listedMs'), unit: 'ms' },
    kind: 'overhead',
  });
  report({
    what: `activation to a populated tree: every checkpoint read, the 100,000-unit one included (${machine})`,
    subject: {
      label: '20,000 files, 200 checkpoints',
      value: m(bigRuns, 'firstTreeMs'),
      unit: 'ms',
    },
    baseline: { label: '1 checkpoint, 20 files', value: m(tinyRuns, 'firstTreeMs'), unit: 'ms' },
    kind: 'overhead',
  });
  limit(`activation to populated tree (${machine})`, m(bigRuns, 'firstTreeMs'), 1000);
  note(
    `where the time to a populated tree goes (${machine}, medians)`,
    `searching (activation to listed) ${m(bigRuns, 'listedMs')} ms; reading the 200 checkpoints ${median(bigRuns.map((r) => r.firstTreeMs - r.listedMs))} ms, of which parsing ${m(bigRuns, 'parseMs').toFixed(0)} ms of the extension host's event loop`,
  );
  report({
    what: `first page of the big checkpoint (children computed cold, TreeItems built; ${machine})`,
    subject: {
      label: `${m(bigRuns, 'firstPageItems')} rows of 100,000 units`,
      value: m(bigRuns, 'firstPageMs'),
      unit: 'ms',
    },
    baseline: {
      label: `${m(tinyRuns, 'firstPageItems')} rows of 100 units`,
      value: m(tinyRuns, 'firstPageMs'),
      unit: 'ms',
    },
    kind: 'overhead',
  });
  limit(`first page of the big checkpoint (${machine})`, m(bigRuns, 'firstPageMs'), 300);
}

const suite: Suite = {
  name: 'vscode: checkpointkit-vscode in code-server',
  async run() {
    const missing = missingTools();
    if (missing) {
      skipped('the VS Code suite', missing);
      return;
    }
    buildExtension();
    const root = mkdtempSync(join(tmpdir(), 'checkpointkit-bench-ws-'));
    try {
      const big = await buildBigWorkspace(root);
      const tiny = await buildTinyWorkspace(root);
      note(
        'workspace',
        `${big.files} files, ${big.checkpoints} checkpoints, the biggest of 100,000 units`,
      );
      await figuresOf(big, tiny, 'an idle machine');
      const burners = burnCpu(availableParallelism());
      try {
        note('busy machine', `${burners.length} CPU-bound processes (one per core) running beside`);
        await figuresOf(big, tiny, 'a busy machine');
      } finally {
        for (const burner of burners) burner.kill('SIGKILL');
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

export default suite;
