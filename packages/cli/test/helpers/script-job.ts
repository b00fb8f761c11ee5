import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

/** The package folder: a child started there imports the workspace packages' builds. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A job run from a script's text, killed when the test ends. */
export interface ScriptJob {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the exit code once the job ended and its output was read. */
  closed: Promise<number | null>;
  output(): { stdout: string; stderr: string };
  /** Resolves once the job printed `line`; rejects if it ends first. */
  printed(line: string): Promise<void>;
}

/** Runs `script` (an ES module's text) with `node -e` in the package folder, with `args`. */
export function startScriptJob(script: string, args: string[]): ScriptJob {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    cwd: ROOT,
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
  // 'close', not 'exit': the last lines may still be in the pipe when the process exits.
  let ended = false;
  const closed = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      resolve(code);
    }),
  );
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  return {
    process: child,
    closed,
    output: () => ({ stdout, stderr }),
    async printed(line) {
      while (!stdout.includes(`${line}\n`)) {
        if (ended) throw new Error(`the job ended before it printed ${line}: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}
