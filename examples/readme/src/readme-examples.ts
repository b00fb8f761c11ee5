// Finds the ```ts and ```js blocks of the READMEs and the `<!-- example: ... -->` comment before
// each.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `run`: typechecked and run in an empty folder; `postgres`: the same, with `DATABASE_URL`
 * naming a database of its own on a throwaway server; `typecheck-only`: not run (it needs the
 * internet or a token).
 */
export type ExampleMode = 'run' | 'postgres' | 'typecheck-only';

export interface ReadmeExample {
  /** The README, relative to the repository root (`packages/core/README.md`). */
  readme: string;
  /** 1-based number of the block in its README (```ts and ```js blocks counted together). */
  index: number;
  /** `js` blocks are checked as JavaScript (JSDoc types) and run as `.js` modules. */
  language: 'ts' | 'js';
  /** README line of the block's first line of code. */
  line: number;
  mode: ExampleMode;
  /** What the comment says after the mode (why it is not run). */
  reason: string;
  /** Hidden lines from the comment, put before the code: imports and `declare`s of a fragment. */
  prelude: string[];
  /** README line of the prelude's first line. */
  preludeLine: number;
  code: string[];
}

const MODES: readonly string[] = ['run', 'postgres', 'typecheck-only'];
const LANGUAGES: Record<string, 'ts' | 'js'> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
};

/** README.md and packages/*\/README.md, relative to `root`. */
export function readmePaths(root: string): string[] {
  const packages = readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `packages/${entry.name}/README.md`)
    .filter((path) => existsSync(join(root, path)))
    .sort();
  return ['README.md', ...packages];
}

export function extractExamples(readme: string, text: string): ReadmeExample[] {
  const lines = text.split('\n');
  const examples: ReadmeExample[] = [];
  let fence: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence !== null) {
      if (line.trim() === fence) fence = null;
      continue;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)/.exec(line);
    if (!open) continue;
    fence = open[2]!;
    const language = Object.hasOwn(LANGUAGES, open[3]!) ? LANGUAGES[open[3]!]! : null;
    if (language === null) continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === fence);
    if (end < 0) throw new Error(`${readme}:${i + 1}: the \`\`\`${open[3]} block is never closed`);
    const comment = commentBefore(readme, lines, i);
    examples.push({
      readme,
      index: examples.length + 1,
      language,
      line: i + 2,
      ...comment,
      code: lines.slice(i + 1, end),
    });
  }
  return examples;
}

/** The `<!-- example: mode reason\nprelude -->` comment right before line `fenceIndex`. */
function commentBefore(
  readme: string,
  lines: string[],
  fenceIndex: number,
): Pick<ReadmeExample, 'mode' | 'reason' | 'prelude' | 'preludeLine'> {
  let last = fenceIndex - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  const none = { mode: 'run' as const, reason: '', prelude: [], preludeLine: fenceIndex + 1 };
  if (last < 0 || !lines[last]!.trim().endsWith('-->')) return none;
  let first = last;
  while (first >= 0 && !lines[first]!.includes('<!--')) first--;
  const head =
    first >= 0
      ? /^\s*<!--\s*example:\s*([a-z]+(?:-[a-z]+)*)\s*(.*?)\s*(-->)?\s*$/.exec(lines[first]!)
      : null;
  if (!head) return none;
  const mode = head[1]!;
  if (!MODES.includes(mode)) {
    throw new Error(
      `${readme}:${first + 1}: unknown example mode "${mode}" (expected ${MODES.join(' or ')})`,
    );
  }
  const prelude = first === last ? [] : lines.slice(first + 1, last);
  const tail = lines[last]!.replace(/-->\s*$/, '');
  if (first !== last && tail.trim() !== '') prelude.push(tail);
  return { mode: mode as ExampleMode, reason: head[2]!, prelude, preludeLine: first + 2 };
}

/** The file a block is checked and run as: the prelude, the code, and `export {}` (a module). */
export function exampleSource(example: ReadmeExample): string {
  return [...example.prelude, ...example.code, 'export {};', ''].join('\n');
}

/** The README line of a line (1-based) of `exampleSource(example)`. */
export function readmeLine(example: ReadmeExample, generatedLine: number): number {
  const { prelude, code } = example;
  if (generatedLine <= prelude.length) return example.preludeLine + generatedLine - 1;
  const inCode = Math.min(generatedLine - prelude.length, code.length);
  return example.line + Math.max(inCode, 1) - 1;
}

export function exampleName(example: ReadmeExample): string {
  return `${example.readme} example ${example.index} (line ${example.line})`;
}
