/**
 * Runs every suite in src/suites (each file default-exports a {@link Suite}), or only those whose
 * file name contains one of the arguments: `pnpm bench core file`.
 *
 * Each suite runs in a process of its own. In one shared process a suite measured what the one
 * before it left behind: right after the GitHub suite, the Matrix export took 150 ms instead of
 * 85 ms (its baseline did not change), and a pause of a few seconds made the difference go away.
 * A suite's subject and baseline are still measured in the same process, one after the other.
 */
import { fork } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { allResults, type Result, type Suite } from './lib.js';

const SUITE_ENV = 'CHECKPOINTKIT_BENCH_SUITE';

async function runSuite(file: string): Promise<void> {
  const suite = (
    (await import(new URL(`./suites/${file}`, import.meta.url).href)) as { default: Suite }
  ).default;
  console.log(`\n## ${suite.name}`);
  await suite.run();
}

/** Runs one suite file in a child process (same Node flags and loader) and returns its results. */
function forkSuite(file: string): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: process.execArgv,
      env: { ...process.env, [SUITE_ENV]: file },
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    });
    let results: Result[] | null = null;
    child.on('message', (message) => {
      results = message as Result[];
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 && results) resolve(results);
      else reject(new Error(`bench suite ${file} failed (exit ${code ?? signal})`));
    });
  });
}

const only = process.env[SUITE_ENV];
if (only) {
  await runSuite(only);
  process.send?.(allResults());
  process.disconnect?.();
} else {
  const dir = fileURLToPath(new URL('./suites/', import.meta.url));
  const filters = process.argv.slice(2);
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => filters.length === 0 || filters.some((filter) => f.includes(filter)))
    .sort();
  const results: Result[] = [];
  for (const file of files) results.push(...(await forkSuite(file)));

  const missed = results.filter((r) => r.met === false);
  console.log(
    `\n${results.length} ratios measured; ${results.filter((r) => r.met).length} goals met, ${missed.length} not met.`,
  );
  for (const r of missed)
    console.log(`  not met: ${r.what} (${r.ratio.toFixed(2)}x, goal ${r.goal}x)`);
}
