/**
 * `@checkpointkit/cli`: the `checkpointkit` command. The package's API is the command line;
 * `main` runs it in-process (for tools that embed it), and `EXIT` names its exit codes.
 */
export type { ExitCode } from './exit-codes.js';
export { EXIT } from './exit-codes.js';
export type { Io } from './output.js';
export { buildProgram, main } from './program.js';
