import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../test/harness/wrapper-args.js';

describe('code-server wrapper arguments', () => {
  it('reads what @vscode/test-electron passes desktop VS Code', () => {
    const args = parseArgs([
      '/ws/folder',
      '--no-sandbox',
      '--disable-gpu-sandbox',
      '--disable-updates',
      '--skip-welcome',
      '--skip-release-notes',
      '--disable-workspace-trust',
      '--extensionTestsPath=/ext/out/test/suite/index.cjs',
      '--extensionDevelopmentPath=/ext',
      '--extensions-dir=/cache/extensions',
      '--user-data-dir',
      '/cache/user-data',
    ]);
    expect(args).toEqual({
      developmentPaths: ['/ext'],
      testsPath: '/ext/out/test/suite/index.cjs',
      userDataDir: '/cache/user-data',
      extensionsDir: '/cache/extensions',
      disableTrust: true,
      target: '/ws/folder',
    });
  });

  it('resolves relative paths and sees a missing trust flag', () => {
    const args = parseArgs(['ws.code-workspace', '--extensionDevelopmentPath', 'ext']);
    expect(args.target).toBe(resolve('ws.code-workspace'));
    expect(args.developmentPaths).toEqual([resolve('ext')]);
    expect(args.disableTrust).toBe(false);
  });
});
