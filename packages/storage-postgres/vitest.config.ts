import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

export default defineConfig(
  packageTestConfig({
    // One PostgreSQL cluster for the run (or DATABASE_URL); each test file uses its own schema.
    globalSetup: ['./test/global-setup.ts'],
    hookTimeout: 120_000,
  }),
);
