import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './checkpoints.js';
import { type CliResult, type RunOptions, runCli } from './cli.js';

/**
 * Runs the binary like {@link runCli} and also returns its peak resident set size in KiB
 * (`process.resourceUsage().maxRSS`, written at exit by a module the child imports first): a
 * memory bound that does not depend on how loaded the machine is.
 */
export async function runCliMeasured(
  args: string[],
  options: RunOptions = {},
): Promise<CliResult & { maxRssKiB: number }> {
  const dir = await tempDir();
  const hook = join(dir, 'rss-hook.mjs');
  const out = join(dir, 'max-rss');
  await writeFile(
    hook,
    `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));
`,
  );
  const result = await runCli(args, {
    ...options,
    env: { ...options.env, NODE_OPTIONS: `--import ${pathToFileURL(hook).href}` },
  });
  return { ...result, maxRssKiB: Number(await readFile(out, 'utf8')) };
}
