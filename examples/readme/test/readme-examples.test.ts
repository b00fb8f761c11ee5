// Every ```ts block of README.md and packages/*/README.md is typechecked with the repository's
// settings against the current sources and, unless marked typecheck-only, run with tsx in a
// fresh working directory. The convention is in docs/contributing.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  exampleName,
  exampleSource,
  extractExamples,
  type ReadmeExample,
  readmeLine,
  readmePaths,
} from '../src/readme-examples.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsconfig = join(root, 'tsconfig.json');
// Node runs each example with tsx as its loader (as examples/quickstart does); the workspace
// packages resolve to their sources through the root tsconfig's paths, whatever the cwd.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const examples = readmePaths(root).flatMap((readme) =>
  extractExamples(readme, readFileSync(join(root, readme), 'utf8')),
);

// The examples are written to a temporary folder (an ESM package, like a user's project).
const work = mkdtempSync(join(tmpdir(), 'ck-readme-'));
const files = new Map<ReadmeExample, string>();
mkdirSync(join(work, 'examples'));
writeFileSync(join(work, 'examples', 'package.json'), '{ "type": "module" }\n');
for (const example of examples) {
  const file = join(
    work,
    'examples',
    `${example.readme.replace(/\/?README\.md$/, '').replace(/\W+/g, '-') || 'root'}-${example.index}.ts`,
  );
  writeFileSync(file, exampleSource(example));
  files.set(example, file);
}
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Type errors per example file, from one program over all of them. */
let diagnostics: Map<string, readonly ts.Diagnostic[]>;
beforeAll(() => {
  const config = ts.getParsedCommandLineOfConfigFile(
    tsconfig,
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error(`cannot read ${tsconfig}`);
  const program = ts.createProgram({ rootNames: [...files.values()], options: config.options });
  diagnostics = new Map(
    [...files.values()].map((file) => {
      const source = program.getSourceFile(file)!;
      return [
        file,
        [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)],
      ];
    }),
  );
});

function describeDiagnostic(example: ReadmeExample, diagnostic: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
  if (!diagnostic.file || diagnostic.start === undefined) return `TS${diagnostic.code}: ${message}`;
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return `${example.readme}:${readmeLine(example, line + 1)}: TS${diagnostic.code}: ${message}`;
}

/** Output of a run, with the example file's positions turned into README lines. */
function mapOutput(example: ReadmeExample, output: string): string {
  const file = files.get(example)!;
  const names = [pathToFileURL(file).href, file].map((name) =>
    name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
  );
  return output.replace(
    new RegExp(`(?:${names.join('|')}):(\\d+)(?::\\d+)?`, 'g'),
    (_, line: string) => `${example.readme}:${readmeLine(example, Number(line))}`,
  );
}

function run(example: ReadmeExample): Promise<{ code: number | null; output: string }> {
  const cwd = mkdtempSync(join(work, 'cwd-'));
  const env: NodeJS.ProcessEnv = { ...process.env, TSX_TSCONFIG_PATH: tsconfig, NO_COLOR: '1' };
  // A run example uses the defaults and no credentials: nothing of the caller's setup leaks in.
  for (const name of [
    'CHECKPOINT_DIR',
    'CHECKPOINT_STORE',
    'CHECKPOINT_AUTO_CLEANUP',
    'DATABASE_URL',
    'GITHUB_TOKEN',
    'API_TOKEN',
  ]) {
    delete env[name];
  }
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', tsxLoader, files.get(example)!],
    {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('README examples', () => {
  it('finds the ```ts blocks of README.md and packages/*/README.md', () => {
    expect(examples.length).toBeGreaterThan(0);
    expect(examples.some((example) => example.readme === 'README.md')).toBe(true);
  });

  for (const example of examples) {
    const label = example.mode === 'run' ? 'typechecks and runs' : 'typechecks (typecheck-only)';
    it(`${exampleName(example)} ${label}`, async () => {
      const errors = diagnostics.get(files.get(example)!)!;
      expect(
        errors.map((diagnostic) => describeDiagnostic(example, diagnostic)),
        `type errors in ${example.readme}:${example.line}`,
      ).toEqual([]);
      if (example.mode !== 'run') return;
      const { code, output } = await run(example);
      expect(
        code,
        `${example.readme}:${example.line} exited with ${code}:\n${mapOutput(example, output)}`,
      ).toBe(0);
    });
  }
});
