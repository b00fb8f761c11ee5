// What a user's first hour touches, run in a project that installed the packed tarballs with npm,
// outside the workspace (check-release.sh copies this file there and runs it with that project
// as the working directory). Workspace tests cannot see what this sees: a runtime import of a
// package that is only a devDependency, a file `files` leaves out (the compaction worker, the
// migrations, the CLI's bin), an export that does not load under plain Node.
//
// Prints one line per problem and exits 1 if there was any; prints what it checked otherwise.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const problems = [];
const checked = [];
const problem = (what) => problems.push(what);

const scope = join('node_modules', '@checkpointkit');
const installed = readdirSync(scope).map((dir) => {
  const manifest = JSON.parse(readFileSync(join(scope, dir, 'package.json'), 'utf8'));
  return { dir: join(scope, dir), manifest };
});

// 1. Every export of every package loads under plain Node. A subpath may fail only for want of
//    one of its package's optional peer dependencies (core/testing needs vitest, for instance).
for (const { manifest } of installed) {
  const optional = Object.keys(manifest.peerDependenciesMeta ?? {}).filter(
    (peer) => manifest.peerDependenciesMeta[peer].optional,
  );
  for (const subpath of Object.keys(manifest.exports ?? {})) {
    if (subpath === './package.json') continue;
    const specifier = `${manifest.name}${subpath.slice(1)}`;
    try {
      await import(specifier);
      checked.push(`import ${specifier}`);
    } catch (error) {
      const missing = /Cannot find package '([^']+)'/.exec(String(error?.message))?.[1];
      if (missing && optional.includes(missing)) {
        checked.push(`import ${specifier} (needs the optional peer ${missing})`);
      } else problem(`import ${specifier} fails: ${error?.message ?? error}`);
    }
  }
}

const { openRun, pipeline } = await import('@checkpointkit/core');
const { fileStore } = await import('@checkpointkit/storage-file');
const { jsonLinesSink } = await import('@checkpointkit/sink-file');
const { httpSource, bodyCursor } = await import('@checkpointkit/source-http');

const work = await mkdtemp(join(tmpdir(), 'checkpointkit-installed-'));
try {
  // 2. A job on the file store whose compaction runs in the worker thread (a file of dist that a
  //    workspace test finds in src), writing through sink-file, pages from source-http.
  const pages = 40;
  const server = createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    const page = Number(url.searchParams.get('page') ?? 0);
    const data = Array.from({ length: 25 }, (_, i) => ({
      id: page * 25 + i,
      text: 'x'.repeat(200),
    }));
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ data, next: page + 1 < pages ? String(page + 1) : null }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = join(work, 'checkpoints');
  const output = join(work, 'items.jsonl');
  try {
    const source = httpSource({
      baseUrl: `http://127.0.0.1:${server.address().port}`,
      paginator: bodyCursor({ pointer: '/next', param: 'page' }),
      resources: [{ name: 'items', path: '/items', records: '/data' }],
    });
    const store = fileStore({ dir, compactAfter: 4096, compactInWorkerAbove: 0 });
    const warnings = [];
    const run = await openRun({ id: 'installed', store, signals: false });
    const result = await pipeline({ run, source, sink: jsonLinesSink({ path: output }) });
    await run.finish({ cleanup: false });
    if (result.items !== pages * 25)
      problem(`the job wrote ${result.items} items, not ${pages * 25}`);
    const lines = (await readFile(output, 'utf8')).trim().split('\n');
    const ids = new Set(lines.map((line) => JSON.parse(line).data.id));
    if (lines.length !== pages * 25 || ids.size !== pages * 25) {
      problem(`${output} holds ${lines.length} lines, ${ids.size} distinct ids, not ${pages * 25}`);
    }
    const reopened = await fileStore({ dir, onWarning: (w) => warnings.push(w) }).load('installed');
    if (reopened?.status !== 'completed') {
      problem(`the checkpoint reads back as ${reopened?.status ?? 'missing'}, not completed`);
    }
    if (warnings.length > 0)
      problem(`the store warned: ${warnings.map((w) => w.message).join('; ')}`);
    checked.push(
      `a job of ${pages} pages: source-http → sink-file, file store compacting in its worker`,
    );
  } finally {
    server.close();
  }

  // 3. The CLI's bin, on that checkpoint.
  for (const args of [['ls'], ['show', 'installed']]) {
    const cli = spawnSync(join('node_modules', '.bin', 'checkpointkit'), [...args, '--dir', dir], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    if (cli.status !== 0 || !cli.stdout.includes('installed')) {
      problem(`checkpointkit ${args.join(' ')} exited ${cli.status}: ${cli.stderr || cli.stdout}`);
    } else checked.push(`checkpointkit ${args.join(' ')}`);
  }

  // 4. The PostgreSQL store migrates from its packed migrations/ on a throwaway server.
  const { startTestCluster } = await import('@checkpointkit/storage-postgres/testing');
  const { postgresStore } = await import('@checkpointkit/storage-postgres');
  let cluster;
  try {
    cluster = await startTestCluster();
    const store = postgresStore({ connectionString: cluster.url, schema: 'installed' });
    const run = await openRun({ id: 'installed', store, signals: false });
    const units = ['a', 'b'];
    await pipeline({
      run,
      source: {
        units: () => units.map((key) => ({ key })),
        async *read({ cursor }) {
          for (let page = cursor ?? 0; page < 3; page++) yield { items: [page], cursor: page + 1 };
        },
      },
      sink: { write: async () => {} },
    });
    const { summary } = await run.finish({ cleanup: false });
    if (summary.percent !== 100) problem(`the PostgreSQL job ended at ${summary.percent}%`);
    await store.close();
    checked.push('postgresStore: migrated and ran a job');
  } catch (error) {
    problem(`storage-postgres on a throwaway server: ${error?.stack ?? error}`);
  } finally {
    await cluster?.stop();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

for (const line of problems) console.log(line);
if (problems.length === 0) for (const line of checked) console.error(`  ok: ${line}`);
process.exitCode = problems.length > 0 ? 1 : 0;
