import { defineConfig } from 'vitest/config';
import { UNIT_TIMEOUT_MS, workspaceAliases } from '../../vitest.shared.js';

export default defineConfig({
  resolve: { alias: workspaceAliases },
  // The hook builds one TypeScript program over every example (and the sources they import).
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: UNIT_TIMEOUT_MS,
    hookTimeout: UNIT_TIMEOUT_MS * 2,
  },
});
