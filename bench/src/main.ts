/**
 * Runs every suite in src/suites (each file default-exports a {@link Suite}), or only those whose
 * file name contains one of the arguments: `pnpm bench core file`.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { allResults, type Suite } from './lib.js';

const dir = fileURLToPath(new URL('./suites/', import.meta.url));
const filters = process.argv.slice(2);
const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();

for (const file of files) {
  if (filters.length > 0 && !filters.some((f) => file.includes(f))) continue;
  const suite = (
    (await import(new URL(`./suites/${file}`, import.meta.url).href)) as { default: Suite }
  ).default;
  console.log(`\n## ${suite.name}`);
  await suite.run();
}

const results = allResults();
const missed = results.filter((r) => r.met === false);
console.log(
  `\n${results.length} ratios measured; ${results.filter((r) => r.met).length} goals met, ${missed.length} not met.`,
);
for (const r of missed)
  console.log(`  not met: ${r.what} (${r.ratio.toFixed(2)}x, goal ${r.goal}x)`);
