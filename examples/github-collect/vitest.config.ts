import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { workspaceAliases } from '../../vitest.shared.js';

const testing = fileURLToPath(
  new URL('../../packages/source-github/src/testing/index.ts', import.meta.url),
);

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@checkpointkit\/source-github\/testing$/, replacement: testing },
      ...workspaceAliases,
    ],
  },
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000 },
});
