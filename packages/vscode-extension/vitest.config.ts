import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

export default defineConfig(
  packageTestConfig({
    testTimeout: 300_000,
    // A beforeAll installs the .vsix, starts code-server and Chromium and opens the workbench.
    hookTimeout: 300_000,
    // Each file starts its own code-server; two at once would only slow both down.
    fileParallelism: false,
  }),
);
