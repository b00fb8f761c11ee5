import { defineConfig } from 'vitest/config';
import { workspaceAliases } from '../../vitest.shared.js';

export default defineConfig({
  resolve: { alias: workspaceAliases },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // The tests run the built binary: build it (and what it imports) when it is stale; the
          // --store postgres tests get a PostgreSQL server.
          globalSetup: ['test/helpers/build.ts', 'test/helpers/postgres.ts'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
