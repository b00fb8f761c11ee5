// The installed packages' types, checked the way users' projects check them. Run by
// check-release.sh in the project that installed the packed tarballs (the working directory),
// with the workspace's TypeScript given as its argument (the `typescript` package's folder).
// Workspace builds and typechecks use skipLibCheck and NodeNext only, so they cannot see:
//
// - a `.d.ts` that fails without skipLibCheck (tsc's default) under what `tsc --init` turns on
//   (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess): core's seed readers did,
//   with TS2411 on a zod output type written out with an index signature;
// - a subpath export (`@checkpointkit/core/testing`, `@checkpointkit/storage-file/format`) whose
//   types `moduleResolution: node10` (tsconfig `module: commonjs`, the old default) cannot find:
//   it reads `typesVersions`, not `exports`.
//
// Prints one line per problem (TypeScript's diagnostics in our packages' files) and exits 1 if
// there was any; prints what it checked otherwise.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';

const require = createRequire(join(process.cwd(), 'package.json'));
const ts = require(process.argv[2] ?? 'typescript');

const scope = join('node_modules', '@checkpointkit');
const specifiers = [];
for (const dir of readdirSync(scope)) {
  const manifest = JSON.parse(readFileSync(join(scope, dir, 'package.json'), 'utf8'));
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target === 'object' && target?.types) {
      specifiers.push(`${manifest.name}${subpath.slice(1)}`);
    }
  }
}

const strict = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  types: ['node'],
};
const setups = [
  {
    name: 'ESM (module NodeNext), strict, no skipLibCheck',
    file: 'imports.mts',
    options: {
      ...strict,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
    },
  },
];
// TypeScript 7 removed node10; 5.x, which most CommonJS projects use, still resolves with it.
if (ts.ModuleResolutionKind.Node10 !== undefined) {
  setups.push({
    name: 'CommonJS (module commonjs, moduleResolution node10), no skipLibCheck',
    file: 'imports.ts',
    options: {
      ...strict,
      exactOptionalPropertyTypes: false,
      noUncheckedIndexedAccess: false,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      esModuleInterop: true,
      // TypeScript 6 deprecates node10 and asks for this; 5.x refuses a value it does not know.
      ...(ts.versionMajorMinor.startsWith('6.') && { ignoreDeprecations: '6.0' }),
    },
  });
}

const problems = [];
const checked = [];
const work = mkdtempSync(join(process.cwd(), '.installed-types-'));
const ours = resolve(scope) + sep;
try {
  for (const setup of setups) {
    const file = join(work, setup.file);
    const lines = specifiers.map((specifier, i) => `export * as m${i} from '${specifier}';`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const program = ts.createProgram([file], setup.options);
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => {
      const name = d.file ? resolve(d.file.fileName) : '';
      return name === resolve(file) || name.startsWith(ours);
    });
    for (const d of diagnostics) {
      const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      const at = d.file
        ? `${d.file.fileName.replace(`${process.cwd()}${sep}`, '')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
        : '';
      problems.push(`types, ${setup.name}: ${at} TS${d.code} ${text}`);
    }
    if (diagnostics.length === 0) {
      checked.push(
        `types of ${specifiers.length} exports: ${setup.name} (TypeScript ${ts.version})`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

for (const line of problems) console.log(line);
if (problems.length === 0) for (const line of checked) console.error(`  ok: ${line}`);
process.exitCode = problems.length > 0 ? 1 : 0;
