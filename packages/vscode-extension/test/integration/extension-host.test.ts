/**
 * Runs the extension-host suite (test/suite, mocha) inside a real VS Code with
 * `@vscode/test-electron`'s runTests. `vscodeExecutablePath` points at the code-server wrapper
 * (out/test/code-wrapper.cjs): here VS Code runs as code-server, driven by Chromium. With a
 * desktop VS Code that test-electron can download, drop `vscodeExecutablePath` and the same suite
 * runs there. `pnpm test` builds the bundles first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFixtureWorkspace } from '../fixtures/workspace.js';
import { packageDir } from '../harness/paths.js';

const extensionDevelopmentPath = packageDir();
const extensionTestsPath = join(extensionDevelopmentPath, 'out/test/suite/index.cjs');
const vscodeExecutablePath = join(extensionDevelopmentPath, 'out/test/code-wrapper.cjs');
const scratch = mkdtempSync(join(tmpdir(), 'checkpointkit-host-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function runSuite(
  name: string,
  target: (ws: Awaited<ReturnType<typeof buildFixtureWorkspace>>) => string,
  env: Record<string, string>,
) {
  const root = join(scratch, name);
  const ws = await buildFixtureWorkspace(root);
  return runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath,
    extensionTestsPath,
    launchArgs: [
      target(ws),
      `--user-data-dir=${join(root, 'user-data')}`,
      `--extensions-dir=${join(root, 'extensions')}`,
    ],
    extensionTestsEnv: { CHECKPOINTKIT_FIXTURE: root, ...env },
  });
}

describe('extension-host suite in code-server', () => {
  it('passes in a trusted multi-root workspace', async () => {
    expect(await runSuite('main', (ws) => ws.workspaceFile, { CHECKPOINTKIT_SUITE: '' })).toBe(0);
  });

  it('passes in restricted mode (workspace trust on, folder not trusted)', async () => {
    const code = await runSuite('restricted', (ws) => ws.project, {
      CHECKPOINTKIT_SUITE: 'restricted',
      CHECKPOINTKIT_WORKSPACE_TRUST: '1',
    });
    expect(code).toBe(0);
  });
});
