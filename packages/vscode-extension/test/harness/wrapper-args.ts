/** The subset of desktop VS Code's command line that `@vscode/test-electron` passes. */
import { resolve } from 'node:path';

export interface WrapperArgs {
  developmentPaths: string[];
  testsPath: string | undefined;
  userDataDir: string | undefined;
  extensionsDir: string | undefined;
  disableTrust: boolean;
  target: string | undefined;
}

/** Parses test-electron's arguments; the one positional argument is the folder or workspace file. */
export function parseArgs(argv: readonly string[]): WrapperArgs {
  const parsed: WrapperArgs = {
    developmentPaths: [],
    testsPath: undefined,
    userDataDir: undefined,
    extensionsDir: undefined,
    disableTrust: false,
    target: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--extensionDevelopmentPath':
        parsed.developmentPaths.push(resolve(value()!));
        break;
      case '--extensionTestsPath':
        parsed.testsPath = resolve(value()!);
        break;
      case '--user-data-dir':
        parsed.userDataDir = resolve(value()!);
        break;
      case '--extensions-dir':
        parsed.extensionsDir = resolve(value()!);
        break;
      case '--disable-workspace-trust':
        parsed.disableTrust = true;
        break;
      default:
        if (!flag.startsWith('-')) parsed.target = resolve(flag);
    }
  }
  return parsed;
}
