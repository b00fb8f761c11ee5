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
    // 'close' comes after the last IPC message is read; 'exit' may come before it.
    child.on('close', (code, signal) => {
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

  console.log(`\n${summarize(results).join('\n')}`);
}

/** The closing lines: every goal of every suite, ratio or limit, met or not, and what was skipped. */
function summarize(results: Result[]): string[] {
  const ratios = results.filter((r) => r.kind === 'ratio').length;
  const limits = results.filter((r) => r.kind === 'limit').length;
  const goals = results.filter((r) => 'met' in r && r.met !== undefined);
  const missed = goals.filter((r) => 'met' in r && r.met === false);
  const skips = results.filter((r) => r.kind === 'skipped');
  const lines = [
    `${ratios} ratios and ${limits} limits measured; ${goals.length - missed.length} goals met, ${missed.length} not met, ${skips.length} skipped.`,
  ];
  for (const r of missed) {
    if (r.kind === 'ratio')
      lines.push(`  not met: ${r.what} (${r.ratio.toFixed(2)}x, goal ${r.goal}x)`);
    if (r.kind === 'limit')
      lines.push(
        `  not met: ${r.what} (${r.value.toFixed(0)} ${r.unit}, goal under ${r.goal} ${r.unit})`,
      );
  }
  for (const r of skips) if (r.kind === 'skipped') lines.push(`  skipped: ${r.what}: ${r.why}`);
  return lines;
}
