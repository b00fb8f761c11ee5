/**
 * The extension-host test runner: the `run()` contract that VS Code (desktop or code-server)
 * calls with the suite's path. Loads every `*.test.cjs` beside it into mocha.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: true, timeout: 30_000 });
  const only = process.env['CHECKPOINTKIT_SUITE'] || undefined;
  for (const file of readdirSync(__dirname).sort()) {
    if (!file.endsWith('.test.cjs')) continue;
    if (only ? !file.startsWith(`${only}.`) : file.startsWith('restricted.')) continue;
    mocha.addFile(join(__dirname, file));
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) =>
      failures > 0 ? reject(new Error(`${failures} tests failed`)) : resolve(),
    );
  });
}
