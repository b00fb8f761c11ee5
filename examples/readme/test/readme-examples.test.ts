// Every ```ts and ```js block of README.md and packages/*/README.md is typechecked with the
// repository's settings against the current sources (JavaScript through its JSDoc types) and,
// unless marked typecheck-only, run with tsx in a fresh working directory; a `postgres` example
// gets a database of its own on a throwaway server. The convention is in docs/contributing.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startTestCluster, type TestCluster } from '@checkpointkit/storage-postgres/testing';
import pg from 'pg';
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
    `${example.readme.replace(/\/?README\.md$/, '').replace(/\W+/g, '-') || 'root'}-${example.index}.${example.language}`,
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
  // JavaScript is checked as an editor checks it (checkJs), without asking for JSDoc types on
  // every parameter: what its reader would not write.
  const programs = [
    { language: 'ts', options: config.options },
    {
      language: 'js',
      options: { ...config.options, allowJs: true, checkJs: true, noImplicitAny: false },
    },
  ];
  diagnostics = new Map();
  for (const { language, options } of programs) {
    const rootNames = examples.filter((e) => e.language === language).map((e) => files.get(e)!);
    const program = ts.createProgram({ rootNames, options });
    for (const file of rootNames) {
      const source = program.getSourceFile(file)!;
      diagnostics.set(file, [
        ...program.getSyntacticDiagnostics(source),
        ...program.getSemanticDiagnostics(source),
      ]);
    }
  }
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

/** Runs an example in a new empty folder; `databaseUrl` becomes its `DATABASE_URL`. */
function run(
  example: ReadmeExample,
  databaseUrl?: string,
): Promise<{ code: number | null; output: string }> {
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
  if (databaseUrl) env['DATABASE_URL'] = databaseUrl;
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

// One throwaway PostgreSQL server for the `postgres` examples, a database of its own for each run.
let cluster: TestCluster | null = null;
let databases = 0;
beforeAll(async () => {
  if (examples.some((example) => example.mode === 'postgres')) cluster = await startTestCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The URL of a new, empty database on the throwaway server. */
async function newDatabase(): Promise<string> {
  const name = `example_${++databases}`;
  await query(cluster!.url, `CREATE DATABASE ${name}`);
  const url = new URL(cluster!.url);
  url.pathname = `/${name}`;
  return url.href;
}

async function expectRuns(example: ReadmeExample, databaseUrl?: string): Promise<string> {
  const { code, output } = await run(example, databaseUrl);
  expect(
    code,
    `${example.readme}:${example.line} exited with ${code}:\n${mapOutput(example, output)}`,
  ).toBe(0);
  return output;
}

describe('README examples', () => {
  it('finds the ```ts and ```js blocks of README.md and packages/*/README.md', () => {
    expect(examples.length).toBeGreaterThan(0);
    expect(examples.some((example) => example.readme === 'README.md')).toBe(true);
    expect(examples.some((example) => example.language === 'js')).toBe(true);
  });

  const labels = {
    run: 'typechecks and runs',
    postgres: 'typechecks and runs against PostgreSQL',
    'typecheck-only': 'typechecks (typecheck-only)',
  };
  for (const example of examples) {
    const label = labels[example.mode];
    it(`${exampleName(example)} ${label}`, async () => {
      const errors = diagnostics.get(files.get(example)!)!;
      expect(
        errors.map((diagnostic) => describeDiagnostic(example, diagnostic)),
        `type errors in ${example.readme}:${example.line}`,
      ).toEqual([]);
      if (example.mode === 'run') await expectRuns(example);
      if (example.mode === 'postgres') await expectRuns(example, await newDatabase());
    });
  }

  // The storage-postgres README promises its crawl writes every row once, however often it runs.
  it('the storage-postgres crawl writes each bookmark once over two runs', async () => {
    const crawl = examples.find(
      (example) => example.readme === 'packages/storage-postgres/README.md' && example.index === 1,
    );
    expect(crawl?.mode).toBe('postgres');
    const url = await newDatabase();
    expect(await expectRuns(crawl!, url)).toContain('200 bookmarks, 100% done');
    expect(await expectRuns(crawl!, url)).toContain('0 bookmarks, 100% done');
    const [rows] = await query<{ rows: string; distinct: string }>(
      url,
      'SELECT count(*) AS rows, count(DISTINCT (user_id, tweet_id)) AS distinct FROM bookmarks',
    );
    expect(rows).toEqual({ rows: '200', distinct: '200' });
  });
});
