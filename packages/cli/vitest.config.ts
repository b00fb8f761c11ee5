import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

export default defineConfig(
  packageTestConfig({
    // The tests run the built binary: build it (and what it imports) when it is stale; the
    // --store postgres tests get a PostgreSQL server.
    globalSetup: ['test/helpers/build.ts', 'test/helpers/postgres.ts'],
  }),
);
