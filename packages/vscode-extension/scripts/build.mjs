// Bundles the extension with esbuild into dist/extension.cjs (`vscode` external; core and
// storage-file bundled from their sources through tsconfig paths). With --tests it also bundles
// the extension-host suite (out/test/suite/*.cjs), its helper processes and the code-server
// wrapper executable that @vscode/test-electron starts in place of desktop VS Code; --tests-only
// builds those and leaves dist alone. --production minifies, without source maps.
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const testsOnly = process.argv.includes('--tests-only');
const tests = testsOnly || process.argv.includes('--tests');

/** Lets bundled ESM sources use import.meta.url in a CommonJS bundle. */
const importMetaUrl = {
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  tsconfig: join(root, 'tsconfig.json'),
  external: ['vscode'],
  logLevel: 'warning',
};

if (!testsOnly) {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  await build({
    ...common,
    // storage-file looks for its compaction worker beside itself; in this bundle there is none,
    // and it compacts on the calling thread.
    ...importMetaUrl,
    entryPoints: { extension: join(root, 'src/extension.ts') },
    outdir: join(root, 'dist'),
    outExtension: { '.js': '.cjs' },
    minify: production,
    sourcemap: production ? false : 'linked',
    sourcesContent: false,
  });
}

if (tests) {
  rmSync(join(root, 'out'), { recursive: true, force: true });
  const suite = join(root, 'test/suite');
  await build({
    ...common,
    ...importMetaUrl,
    entryPoints: readdirSync(suite)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(suite, f)),
    outdir: join(root, 'out/test/suite'),
    outExtension: { '.js': '.cjs' },
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
  });
  // The benchmark's measurements in the extension host (see test/bench).
  await build({
    ...common,
    ...importMetaUrl,
    entryPoints: [join(root, 'test/bench/index.ts')],
    outdir: join(root, 'out/test/bench'),
    outExtension: { '.js': '.cjs' },
  });
  // Child processes the suite starts: a lock holder and a small job (core + storage-file bundled).
  await build({
    ...common,
    ...importMetaUrl,
    entryPoints: [join(root, 'test/helpers/hold-lock.ts'), join(root, 'test/helpers/run-job.ts')],
    outdir: join(root, 'out/test/helpers'),
    outExtension: { '.js': '.cjs' },
  });
  const wrapper = join(root, 'out/test/code-wrapper.cjs');
  await build({
    ...common,
    ...importMetaUrl,
    banner: { js: `#!/usr/bin/env node\n${importMetaUrl.banner.js}` },
    entryPoints: [join(root, 'test/harness/code-wrapper.ts')],
    outfile: wrapper,
    external: ['playwright-core'],
  });
  chmodSync(wrapper, 0o755);
}
