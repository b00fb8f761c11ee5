/**
 * Runs the benchmark's extension-host measurements in code-server (through the same wrapper the
 * tests use) on a generated workspace, and returns the figures. Used by
 * bench/src/suites/vscode.ts; needs scripts/vscode-deps.sh to have run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { packageDir, toolPaths } from '../harness/paths.js';
import type { BenchFigures } from './index.js';
import type { BenchWorkspace } from './workspace.js';

export { buildBigWorkspace, buildTinyWorkspace } from './workspace.js';
export type { BenchFigures, BenchWorkspace };

/** Why the benchmark cannot run here (tools missing), or null. */
export function missingTools(): string | null {
  try {
    toolPaths();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Builds the production bundle and the extension-host bench script. */
export function buildExtension(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--production', '--tests'], {
    cwd: packageDir(),
    stdio: 'inherit',
  });
}

/** One start of code-server on `workspace`, measured from inside its extension host. */
export async function measure(workspace: BenchWorkspace): Promise<BenchFigures> {
  const dir = packageDir();
  const scratch = mkdtempSync(join(tmpdir(), 'checkpointkit-bench-'));
  const out = join(scratch, 'figures.json');
  try {
    await runTests({
      vscodeExecutablePath: join(dir, 'out/test/code-wrapper.cjs'),
      extensionDevelopmentPath: dir,
      extensionTestsPath: join(dir, 'out/test/bench/index.cjs'),
      launchArgs: [
        workspace.folder,
        `--user-data-dir=${join(scratch, 'user-data')}`,
        `--extensions-dir=${join(scratch, 'extensions')}`,
      ],
      extensionTestsEnv: { CHECKPOINTKIT_BENCH_OUT: out, CHECKPOINTKIT_BENCH_BIG: workspace.bigId },
    });
    return JSON.parse(readFileSync(out, 'utf8')) as BenchFigures;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
