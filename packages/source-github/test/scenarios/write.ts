// Writes the scenarios of build.ts as JSON files beside this script: `pnpm scenarios`.
import { writeFileSync } from 'node:fs';
import { buildScenarios } from './build.js';

for (const [name, fixtures] of Object.entries(buildScenarios())) {
  writeFileSync(
    new URL(`./${name}.json`, import.meta.url),
    `${JSON.stringify(fixtures, null, 2)}\n`,
  );
}
