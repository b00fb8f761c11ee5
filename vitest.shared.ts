// Tests import sibling packages from their sources, so a test run never needs a prior build
// and never races another package's build output.
import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const src = (path: string) => `${root}packages/${path}`;

export const workspaceAliases = [
  { find: /^@checkpointkit\/core\/testing$/, replacement: src('core/src/testing/index.ts') },
  { find: /^@checkpointkit\/core$/, replacement: src('core/src/index.ts') },
  {
    find: /^@checkpointkit\/storage-file\/format$/,
    replacement: src('storage-file/src/format/index.ts'),
  },
  {
    find: /^@checkpointkit\/source-github\/testing$/,
    replacement: src('source-github/src/testing/index.ts'),
  },
  { find: /^@checkpointkit\/storage-file$/, replacement: src('storage-file/src/index.ts') },
  {
    find: /^@checkpointkit\/storage-postgres\/testing$/,
    replacement: src('storage-postgres/src/testing/index.ts'),
  },
  { find: /^@checkpointkit\/storage-postgres$/, replacement: src('storage-postgres/src/index.ts') },
  { find: /^@checkpointkit\/source-github$/, replacement: src('source-github/src/index.ts') },
  {
    find: /^@checkpointkit\/source-matrix\/testing$/,
    replacement: src('source-matrix/src/testing/index.ts'),
  },
  { find: /^@checkpointkit\/source-matrix$/, replacement: src('source-matrix/src/index.ts') },
];

/** Settings of a package's integration project beyond the defaults. */
export interface IntegrationSettings {
  globalSetup?: string[];
  testTimeout?: number;
  hookTimeout?: number;
  fileParallelism?: boolean;
}

/**
 * The vitest config every package uses: workspace packages from source, and two projects, `unit`
 * (test/unit) and `integration` (test/integration, real processes and servers, longer timeouts).
 */
export function packageTestConfig(integration: IntegrationSettings = {}): ViteUserConfig {
  return {
    resolve: { alias: workspaceAliases },
    test: {
      projects: [
        { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
        {
          extends: true,
          test: {
            name: 'integration',
            include: ['test/integration/**/*.test.ts'],
            testTimeout: 60_000,
            ...integration,
          },
        },
      ],
    },
  };
}
