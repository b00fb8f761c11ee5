/**
 * The one-minute tour: runs the quickstart job, interrupts it as Ctrl+C would, runs it again to
 * show the resume, and prints the checkpoint it kept.
 *
 *   ./scripts/demo   (from the repository root), or: pnpm --filter checkpointkit-example-quickstart demo
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Node runs the TypeScript itself, with tsx as its loader, rather than under the tsx CLI: the CLI
// relays Ctrl+C to its child and SIGKILLs it when the child does not answer within 30 ms, which a
// loaded machine misses (the job then died unsaved, with exit 130).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const job = fileURLToPath(new URL('./job.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const env = {
  ...process.env,
  TSX_TSCONFIG_PATH: tsconfig,
  CHECKPOINT_DIR: '.checkpoints',
  QUICKSTART_OUTPUT: 'quickstart-output',
  QUICKSTART_LATENCY_MS: '120',
  // Keep the checkpoint after the clean finish, so that we can look at it below.
  CHECKPOINT_AUTO_CLEANUP: 'false',
};

/**
 * Runs the job. With `interruptAfterMs`, presses Ctrl+C (sends SIGINT) that long after the job
 * printed its first line: it prints it once its run is open, so its Ctrl+C handler is in place
 * whatever the machine took to start it (a busy machine can take seconds to compile and load it).
 */
function runJob(interruptAfterMs?: number): Promise<number | null> {
  // stdout through a pipe, to see the first line; stderr (the progress bar) stays the terminal.
  const child = spawn(process.execPath, ['--import', tsxLoader, job], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (data: Buffer) => {
    process.stdout.write(data);
    if (interruptAfterMs !== undefined && timer === undefined) {
      timer = setTimeout(() => child.kill('SIGINT'), interruptAfterMs);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The checkpointkit CLI, run from its sources like the job. */
function runCli(args: string[]): Promise<number | null> {
  const cliPackage = createRequire(import.meta.url).resolve('@checkpointkit/cli/package.json');
  const bin = join(dirname(cliPackage), 'src', 'bin.ts');
  const child = spawn(process.execPath, ['--import', tsxLoader, bin, ...args], {
    env,
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

const say = (text: string) => console.log(`\n\x1b[1m${text}\x1b[0m`);

await rm('.checkpoints', { recursive: true, force: true });
await rm('quickstart-output', { recursive: true, force: true });

say('1. Start the job. 2 seconds into it, this demo presses Ctrl+C for you (it sends SIGINT).');
const first = await runJob(2000);
if (first !== 130) throw new Error(`the interrupted job exited with ${first}, not 130`);
say('   The job saved its progress and exited with code 130 (stopped by Ctrl+C).');

say('2. Run the same job again: it resumes where it stopped, redoing nothing that was saved.');
const second = await runJob();
if (second !== 0) throw new Error(`the resumed job exited with ${second}`);

say('3. The checkpoint it kept, as `checkpointkit show quickstart:stations` prints it:');
const show = await runCli(['show', 'quickstart:stations', '--dir', '.checkpoints']);
if (show !== 0) throw new Error(`checkpointkit show exited with ${show}`);
