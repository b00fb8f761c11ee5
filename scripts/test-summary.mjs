// Reads a test log (turbo running vitest and mocha in every package) and prints what a reader of
// CI's output needs at its end: for every task that failed, the tail of that task's own output
// (where vitest and mocha put their failure reports), then one closing line,
// "tests: N passed, N failed". CI output is often read from its end only, so a failure's
// details must not stay buried in the middle of the interleaved log.
import { readFileSync } from 'node:fs';

const REPORT_LINES = 50;

const esc = String.fromCharCode(27);
const log = readFileSync(process.argv[2], 'utf8').replace(new RegExp(`${esc}\\[[0-9;]*m`, 'g'), '');
const lines = log.split('\n');

let passed = 0;
let failed = 0;
for (const line of lines) {
  const vitest = line.match(/\bTests\s+(.*)\(\d+\)\s*$/);
  if (vitest) {
    passed += Number(vitest[1].match(/(\d+) passed/)?.[1] ?? 0);
    failed += Number(vitest[1].match(/(\d+) failed/)?.[1] ?? 0);
    continue;
  }
  const mocha = line.match(/:\s+(\d+) (passing|failing)\b/);
  if (mocha) {
    if (mocha[2] === 'passing') passed += Number(mocha[1]);
    else failed += Number(mocha[1]);
  }
}

// turbo ends with "Failed:    pkg#test, pkg#test"; every line of a task starts with "pkg:test: ".
const failedTasks = (lines.find((line) => /^\s*Failed:\s+\S+#/.test(line)) ?? '')
  .replace(/^\s*Failed:\s+/, '')
  .split(',')
  .map((task) => task.trim())
  .filter(Boolean);
for (const task of failedTasks) {
  const prefix = `${task.replace('#', ':')}: `;
  const own = lines
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length))
    .filter((line) => line.trim() !== '' && !/^[⎯\s]+(\[\d+\/\d+\][⎯\s]*)?$/.test(line));
  // vitest's and mocha's failure reports, else (a setup that failed, say) the task's last lines.
  const report = own.findIndex((line) =>
    /Failed (Tests|Suites)|Unhandled Errors?|\d+ failing/.test(line),
  );
  const shown = report >= 0 ? own.slice(report, report + REPORT_LINES) : own.slice(-REPORT_LINES);
  console.log(`\n--- ${task} failed:`);
  console.log(shown.join('\n'));
}

console.log(`\ntests: ${passed} passed, ${failed} failed`);
