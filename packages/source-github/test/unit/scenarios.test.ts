import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildScenarios } from '../scenarios/build.js';

describe('scenario files', () => {
  it('are what test/scenarios/build.ts writes (run `pnpm scenarios` after changing it)', () => {
    for (const [name, fixtures] of Object.entries(buildScenarios())) {
      const file = JSON.parse(
        readFileSync(new URL(`../scenarios/${name}.json`, import.meta.url), 'utf8'),
      );
      expect(file, name).toEqual(fixtures);
    }
  });
});
