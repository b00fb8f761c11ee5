// The `.d.ts` files users install must typecheck in their projects, also without `skipLibCheck`
// (tsc's default) and with what `tsc --init` turns on (strict, exactOptionalPropertyTypes,
// noUncheckedIndexedAccess). The repository's own builds skip lib checks, so this emits core's
// declarations in memory, as `pnpm build` does, and checks them the way such a project would.
// Written as one object type, a zod output with an index signature and optional members failed
// there with TS2411 (`Property 'total_items' of type 'number | null | undefined' is not
// assignable to 'string' index type 'Json'`).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Never written to disk: the emitted files live in `emitted`, under the package for `zod`. */
const virtualOut = join(packageDir, '.declarations-in-memory');

function emitDeclarations(): Map<string, string> {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(packageDir, 'tsconfig.build.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!parsed) throw new Error('tsconfig.build.json could not be read');
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    outDir: virtualOut,
  };
  const emitted = new Map<string, string>();
  const program = ts.createProgram(parsed.fileNames, options);
  const result = program.emit(undefined, (file, text) =>
    emitted.set(ts.sys.resolvePath(file), text),
  );
  const errors = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  expect(errors.map(format)).toEqual([]);
  return emitted;
}

function format(diagnostic: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (!diagnostic.file || diagnostic.start === undefined) return text;
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return `${diagnostic.file.fileName}:${line + 1}: TS${diagnostic.code} ${text}`;
}

describe('the published declarations', () => {
  it('typecheck in a strict project without skipLibCheck', () => {
    const emitted = emitDeclarations();
    expect(emitted.has(join(virtualOut, 'formats', 'seed-002.d.ts'))).toBe(true);
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      noEmit: true,
      types: ['node'],
    };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    const directoryExists = host.directoryExists?.bind(host);
    host.readFile = (file) => emitted.get(ts.sys.resolvePath(file)) ?? readFile(file);
    host.fileExists = (file) => emitted.has(ts.sys.resolvePath(file)) || fileExists(file);
    host.directoryExists = (dir) =>
      (ts.sys.resolvePath(dir) + '/').startsWith(`${virtualOut}/`) ||
      (directoryExists?.(dir) ?? true);
    host.getSourceFile = (file, language, onError, fresh) => {
      const text = emitted.get(ts.sys.resolvePath(file));
      return text === undefined
        ? getSourceFile(file, language, onError, fresh)
        : ts.createSourceFile(file, text, language);
    };
    const program = ts.createProgram([...emitted.keys()], options, host);
    const ours = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && emitted.has(ts.sys.resolvePath(d.file.fileName)));
    expect(ours.map(format)).toEqual([]);
  });
});
