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
  { find: /^@checkpointkit\/source-http$/, replacement: src('source-http/src/index.ts') },
  {
    find: /^@checkpointkit\/source-matrix\/testing$/,
    replacement: src('source-matrix/src/testing/index.ts'),
  },
  { find: /^@checkpointkit\/source-matrix$/, replacement: src('source-matrix/src/index.ts') },
  { find: /^@checkpointkit\/sink-file$/, replacement: src('sink-file/src/index.ts') },
];

/** Settings of a package's integration project beyond the defaults. */
export interface IntegrationSettings {
  globalSetup?: string[];
  testTimeout?: number;
  hookTimeout?: number;
  fileParallelism?: boolean;
}

/**
 * Timeouts are last guards against a hang, never the bound of a test: every test is bounded by
 * its own counts and events (N rounds, until the child says X). CI runs every package's tests at
 * once on 2 cores, where a count-bounded test that takes 9 s alone took over 60 s; so the guards
 * are wide.
 */
export const UNIT_TIMEOUT_MS = 60_000;
export const INTEGRATION_TIMEOUT_MS = 600_000;

/**
 * The vitest config every package uses: workspace packages from source, and two projects, `unit`
 * (test/unit) and `integration` (test/integration, real processes and servers, longer timeouts).
 */
export function packageTestConfig(integration: IntegrationSettings = {}): ViteUserConfig {
  return {
    resolve: { alias: workspaceAliases },
    test: {
      projects: [
        {
          extends: true,
          test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: UNIT_TIMEOUT_MS },
        },
        {
          extends: true,
          test: {
            name: 'integration',
            include: ['test/integration/**/*.test.ts'],
            testTimeout: INTEGRATION_TIMEOUT_MS,
            hookTimeout: UNIT_TIMEOUT_MS * 2,
            ...integration,
          },
        },
      ],
    },
  };
}
