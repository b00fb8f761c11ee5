import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built binary the package publishes. */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to the binary's standard input (a pipe, never a terminal), then closed. */
  input?: string;
}

/** The environment of a child: the test's own minus anything that changes colours or stores. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // CI=true makes Node report a 2-colour terminal (tty.hasColors() is false): the CLI's
  // colour tests need the terminal of a person, not of CI.
  for (const name of [
    'CI',
    'FORCE_COLOR',
    'NO_COLOR',
    'CHECKPOINT_DIR',
    'CHECKPOINT_STORE',
    'DATABASE_URL',
  ]) {
    delete env[name];
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `node dist/bin.js ...args` to its end. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** True when text holds an ANSI escape sequence (colour, cursor movement). */
export function hasEscapes(text: string): boolean {
  return text.includes('\u001b[');
}

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * Runs the binary on a pseudo-terminal (util-linux `script`), so stdin and stdout are TTYs:
 * for prompts, progress bars and colours. `input` is typed into the terminal.
 */
export function runInTerminal(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const { child, output } = spawnInTerminal(
    [process.execPath, BIN, ...args].map(quote).join(' '),
    options,
  );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: output.stdout, stderr: output.stderr }));
    if (options.input !== undefined) child.stdin.write(options.input);
  });
}

/**
 * Starts the binary on a pseudo-terminal like {@link runInTerminal} and hands back its pid, so
 * that a test can send it a signal once its output shows what the test waits for.
 */
export function startInTerminal(args: string[], options: RunOptions & { pidFile: string }) {
  const { child, output } = spawnInTerminal(
    `echo $$ > ${quote(options.pidFile)}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`,
    options,
  );
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, exit, stdout: () => output.stdout };
}

/** `command` run by a shell on a pseudo-terminal, its output gathered as it comes. */
function spawnInTerminal(command: string, options: RunOptions) {
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: options.cwd,
    env: childEnv({ TERM: 'xterm-256color', COLUMNS: '120', ...options.env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  return { child, output };
}
