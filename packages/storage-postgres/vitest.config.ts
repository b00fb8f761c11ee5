import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

const config = packageTestConfig({
  // One PostgreSQL cluster for the run (or DATABASE_URL); each test file uses its own schema.
  globalSetup: ['./test/global-setup.ts'],
  hookTimeout: 120_000,
});

export default defineConfig({
  ...config,
  test: {
    ...config.test,
    // Two files at once, whatever the cores: most of these tests wait (leases, outages, killed
    // connections) rather than compute. Alone on 2 cores the suite took 320 s with one file at a
    // time (vitest's default there), 168 s with two, 158 s with four; it is CI's longest task.
    maxWorkers: 2,
  },
});
