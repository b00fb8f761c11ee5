// Reads a test log (turbo running vitest and mocha in every package) and prints one closing line,
// "tests: N passed, N failed", so that a reader of CI's output sees the total at the end.
import { readFileSync } from 'node:fs';

const esc = String.fromCharCode(27);
const log = readFileSync(process.argv[2], 'utf8').replace(new RegExp(`${esc}\\[[0-9;]*m`, 'g'), '');
let passed = 0;
let failed = 0;
for (const line of log.split('\n')) {
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
console.log(`tests: ${passed} passed, ${failed} failed`);
