/**
 * Starts a throwaway code-server (the real VS Code workbench and Node extension host) on
 * 127.0.0.1, in its own process group, with HOME and TMPDIR inside a scratch folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { toolPaths } from './paths.js';

export interface CodeServerOptions {
  /** Scratch folder: HOME, TMPDIR and (unless given) the user data and extensions folders go here. */
  scratch: string;
  userDataDir?: string;
  extensionsDir?: string;
  /** Keep workspace trust on, so a folder opens in restricted mode. Default: trust disabled. */
  workspaceTrust?: boolean;
  /** Let the web client take extensionDevelopmentPath/extensionTestsPath from the URL. */
  testDriver?: boolean;
  /** Extra environment for the server and its extension host. */
  env?: Record<string, string>;
  /** Receives the server's output lines (default: dropped). */
  log?: (line: string) => void;
}

export interface CodeServer {
  readonly port: number;
  readonly origin: string;
  /** The workbench URL opening `path` (a folder, or a `.code-workspace` file), with a payload. */
  url(path: string, payload?: [string, string][]): string;
  /** `vscode-remote://` URI of a server-side path, as the payload wants it. */
  remoteUri(path: string): string;
  /**
   * The last `lines` lines of the server's output and of its logs (the remote agent's, the
   * extension host's, and the output channels of the extensions it runs, CheckpointKit's among
   * them): what a failed UI test appends to its error, since CI keeps only the test's output.
   */
  logTail(lines?: number): string;
  /**
   * Waits until a line of CheckpointKit's own log (its output channel) matches `pattern`, and
   * returns it. Lets a test tell a slow start (extension host, activation, first scan) from the
   * extension failing to show what it read.
   */
  waitForExtensionLog(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Kills the whole process group (code-server has child processes). */
  stop(): Promise<void>;
}

/** User settings that keep the workbench quiet and deterministic. */
const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'never',
  'chat.disableAIFeatures': true,
  'git.enabled': false,
};

function folders(options: CodeServerOptions) {
  const userDataDir = options.userDataDir ?? join(options.scratch, 'user-data');
  const extensionsDir = options.extensionsDir ?? join(options.scratch, 'extensions');
  const home = join(options.scratch, 'home');
  const tmp = join(options.scratch, 'tmp');
  for (const dir of [userDataDir, extensionsDir, home, tmp]) mkdirSync(dir, { recursive: true });
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(QUIET_SETTINGS, null, 2),
  );
  return { userDataDir, extensionsDir, home, tmp };
}

function serverEnv(options: CodeServerOptions, home: string, tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // No extension gallery (code-server's default is open-vsx.org): the tests install from a
    // .vsix and must not wait on a network that CI machines may not have.
    EXTENSIONS_GALLERY: '{}',
    ...options.env,
    HOME: home,
    TMPDIR: tmp,
  };
  // The harness's own Node/npm settings must not leak into the server's extension host.
  for (const name of ['NODE_OPTIONS', 'VSCODE_IPC_HOOK_CLI', 'ELECTRON_RUN_AS_NODE'])
    delete env[name];
  return env;
}

function pipeLines(child: ChildProcess, log: ((line: string) => void) | undefined) {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) log?.(line);
    });
  }
}

/** Installs a packaged extension into the extensions folder the server will use. */
export async function installExtension(vsix: string, options: CodeServerOptions): Promise<void> {
  const tools = toolPaths();
  const dirs = folders(options);
  const args = [tools.codeServerEntry, '--install-extension', vsix, '--force'];
  args.push('--user-data-dir', dirs.userDataDir, '--extensions-dir', dirs.extensionsDir);
  const child = spawn(tools.node24, args, {
    env: serverEnv(options, dirs.home, dirs.tmp),
    stdio: 'pipe',
  });
  let output = '';
  pipeLines(child, (line) => {
    output += `${line}\n`;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0)
    throw new Error(`code-server --install-extension ${vsix} exited with ${code}:\n${output}`);
}

/**
 * The origin code-server says it listens on. It binds port 0 and the kernel picks a free port:
 * a port found free and let go first could be taken by another server before code-server binds
 * it, and the health check would then ask that one.
 */
function listeningOrigin(child: ChildProcess, timeoutMs: number): Promise<string> {
  const pattern = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`code-server did not start listening within ${timeoutMs} ms`)),
      timeoutMs,
    );
    let seen = '';
    const look = (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      const match = pattern.exec(seen);
      if (!match) return;
      clearTimeout(timer);
      resolve(match[1]!);
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited with ${code} while starting`));
    });
  });
}

async function waitForHealth(
  origin: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`code-server exited with ${child.exitCode} while starting`);
    try {
      const response = await fetch(`${origin}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer on ${origin} within ${timeoutMs} ms`);
}

/** The server's own logs and CheckpointKit's, oldest session first. */
function logFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
  } catch {
    return [];
  }
  return names
    .filter((name) => /(remoteagent|remoteexthost|CheckpointKit)\.log$/.test(name))
    .map((name) => join(dir, name));
}

/** Starts code-server and resolves once it answers its health check. */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const tools = toolPaths();
  const dirs = folders(options);
  const args = [tools.codeServerEntry, '--bind-addr', '127.0.0.1:0', '--auth', 'none'];
  args.push('--disable-telemetry', '--disable-update-check', '--disable-getting-started-override');
  args.push('--user-data-dir', dirs.userDataDir, '--extensions-dir', dirs.extensionsDir);
  if (!options.workspaceTrust) args.push('--disable-workspace-trust');
  if (options.testDriver) args.push('--vscode-option', 'enable-smoke-test-driver');
  // detached: a new session and process group (setsid), so stop() reaches every child.
  const child = spawn(tools.node24, args, {
    env: serverEnv(options, dirs.home, dirs.tmp),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  pipeLines(child, (line) => {
    output.push(line);
    if (output.length > 200) output.shift();
    options.log?.(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const group = -child.pid;
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    try {
      process.kill(group, 'SIGKILL'); // children that outlived the server
    } catch {
      // none left
    }
  };
  let origin: string;
  try {
    origin = await listeningOrigin(child, 60_000);
    await waitForHealth(origin, child, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const port = Number(new URL(origin).port);
  const remoteUri = (path: string) => `vscode-remote://127.0.0.1:${port}${path}`;
  return {
    port,
    origin,
    remoteUri,
    logTail(lines = 40) {
      const logs = join(dirs.userDataDir, 'logs');
      const tail = (text: string) => text.trimEnd().split('\n').slice(-lines).join('\n');
      const parts = [`--- code-server output\n${tail(output.join('\n'))}`];
      for (const file of logFiles(logs))
        parts.push(`--- ${relative(logs, file)}\n${tail(readFileSync(file, 'utf8'))}`);
      return parts.join('\n');
    },
    async waitForExtensionLog(pattern, timeoutMs) {
      const logs = join(dirs.userDataDir, 'logs');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const file of logFiles(logs).filter((name) => name.endsWith('CheckpointKit.log'))) {
          const line = readFileSync(file, 'utf8')
            .split('\n')
            .find((text) => pattern.test(text));
          if (line) return line;
        }
        if (Date.now() > deadline)
          throw new Error(`CheckpointKit's log had no line matching ${pattern} in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    url(path, payload) {
      const params = new URLSearchParams();
      params.set(path.endsWith('.code-workspace') ? 'workspace' : 'folder', path);
      if (payload && payload.length > 0) params.set('payload', JSON.stringify(payload));
      return `${origin}/?${params.toString()}`;
    },
    stop,
  };
}
