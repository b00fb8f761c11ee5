// Builds the CLI and the workspace packages it imports when their dist/ is missing or older than
// their sources, so the integration tests always run the real `dist/bin.js` of the current code.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = join(packages, '..', 'node_modules', 'typescript', 'bin', 'tsc');
/** In build order. */
const BUILT = ['core', 'storage-file', 'storage-postgres', 'cli'];

function newest(path: string): number {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = info.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

export default function setup(): void {
  for (const name of BUILT) {
    const dir = join(packages, name);
    const built = statSync(join(dir, 'dist', 'index.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const sources = Math.max(
      newest(join(dir, 'src')),
      newest(join(dir, 'tsconfig.build.json')),
      newest(join(dir, 'package.json')),
    );
    if (built >= sources) continue;
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
}
