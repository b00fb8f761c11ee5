/**
 * The little of the `vscode` module that the command handlers and the reader touch, for unit
 * tests that run them against real files in a temporary folder (`vi.mock('vscode', ...)`): file
 * URIs, and a workspace whose folders a test sets. Anything else a test reaches throws, so a
 * handler that starts to need more fails loudly here instead of passing by accident.
 */
import { posix } from 'node:path';

export class Uri {
  constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
  ) {}

  get fsPath(): string {
    return this.path;
  }

  static file(path: string): Uri {
    return new Uri('file', '', posix.resolve(path));
  }

  static joinPath(base: Uri, ...segments: string[]): Uri {
    return new Uri(base.scheme, base.authority, posix.join(base.path, ...segments));
  }

  toString(): string {
    return `${this.scheme}://${this.authority}${this.path}`;
  }
}

export class FileSystemError extends Error {
  code = 'Unknown';
}

export const workspace = {
  get fs(): never {
    throw new Error('fake vscode: workspace.fs is not faked (only file: URIs are)');
  },
};

/** What `window` was asked to show, in order: the function's name and its arguments. */
export const shown: { call: string; args: unknown[] }[] = [];

const record =
  (call: string, answer?: (args: unknown[]) => unknown) =>
  async (...args: unknown[]) => {
    shown.push({ call, args });
    return answer?.(args);
  };

export const window = {
  showInformationMessage: record('showInformationMessage'),
  showWarningMessage: record('showWarningMessage'),
  showErrorMessage: record('showErrorMessage'),
  // Picks the first item, as a user pressing Enter would.
  showQuickPick: record('showQuickPick', (args) => (args[0] as unknown[])[0]),
};
