/**
 * A "VS Code executable" for `@vscode/test-electron`'s `runTests({ vscodeExecutablePath })`: it
 * takes the arguments test-electron gives desktop VS Code, runs the extension test suite in
 * code-server instead (Chromium opens the workbench with the development and tests paths in the
 * URL payload) and exits with the suite's exit code.
 *
 * Environment: CHECKPOINTKIT_WORKSPACE_TRUST=1 keeps workspace trust on (test-electron always
 * passes --disable-workspace-trust), so a suite can check restricted mode;
 * CHECKPOINTKIT_TEST_TIMEOUT_MS bounds the run (default 5 minutes);
 * CHECKPOINTKIT_SCREENSHOT saves a screenshot of the workbench at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { launchChromium, openWorkbench } from './browser.js';
import { startCodeServer } from './code-server.js';
import { parseArgs } from './wrapper-args.js';

/** Workbench chatter that says nothing about the suite (offline gallery, connection setup). */
const NOISE = [
  /open-vsx\.org/,
  /^(Resolving|Resolved) connection token/,
  /^Creating a socket/,
  /\[(reconnection-grace-time|Service Worker|AgentHost:remote|AccountPolicyGate)\]/,
  /^Updating additional builtin extensions cache/,
  /Timed out waiting for authentication provider/,
  /^Creation of workbench contribution/,
];

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!args.testsPath || args.developmentPaths.length === 0 || !args.target) {
    console.error(
      'code-wrapper: needs --extensionTestsPath, --extensionDevelopmentPath and a folder to open',
    );
    return 2;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'checkpointkit-vscode-'));
  const timeoutMs = Number(process.env['CHECKPOINTKIT_TEST_TIMEOUT_MS'] ?? 300_000);
  const serverLog: string[] = [];
  const server = await startCodeServer({
    scratch,
    ...(args.userDataDir && { userDataDir: args.userDataDir }),
    ...(args.extensionsDir && { extensionsDir: args.extensionsDir }),
    workspaceTrust: process.env['CHECKPOINTKIT_WORKSPACE_TRUST'] === '1' || !args.disableTrust,
    testDriver: true,
    log: (line) => serverLog.push(line),
  });
  const context = await launchChromium(join(scratch, 'chromium'));
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    let finish: (code: number) => void = () => {};
    const exit = new Promise<number>((resolve) => {
      finish = resolve;
    });
    await page.exposeFunction('codeAutomationLog', (type: unknown, args: unknown) => {
      const text = format(...(Array.isArray(args) ? args : [args]));
      if (!NOISE.some((pattern) => pattern.test(text))) {
        (type === 'error' ? process.stderr : process.stdout).write(`${text}\n`);
      }
    });
    await page.exposeFunction('codeAutomationExit', (code: unknown) => finish(Number(code)));
    const payload: [string, string][] = args.developmentPaths.map((path) => [
      'extensionDevelopmentPath',
      server.remoteUri(path),
    ]);
    payload.push(['extensionTestsPath', server.remoteUri(args.testsPath)]);
    await openWorkbench(page, server.url(args.target, payload));
    const timeout = new Promise<number>((resolve) =>
      setTimeout(() => {
        console.error(`code-wrapper: the suite did not finish within ${timeoutMs} ms`);
        resolve(1);
      }, timeoutMs).unref(),
    );
    const code = await Promise.race([exit, timeout]);
    const screenshot = process.env['CHECKPOINTKIT_SCREENSHOT'];
    if (screenshot) await page.screenshot({ path: screenshot }).catch(() => {});
    if (code !== 0 && process.env['CHECKPOINTKIT_SERVER_LOG'] === '1')
      console.error(serverLog.join('\n'));
    return code;
  } finally {
    await context.close().catch(() => {});
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('code-wrapper:', error);
    process.exit(1);
  },
);
