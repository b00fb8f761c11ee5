#!/usr/bin/env node
import { EXIT } from './exit-codes.js';
import { main } from './program.js';

// `checkpointkit ls | head -1`: a reader that stops early is not an error. Any other failure to
// write (a full disk: ENOSPC) is one line on stderr and exit 1, not an uncaught stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(`checkpointkit: error: cannot write to standard output: ${error.message}\n`);
  process.exit(EXIT.FAILURE);
});

// `checkpointkit show x 2>&1 | head -0`: a reader of stderr that is gone made the process crash
// with exit 1 in place of the verb's own code (3 here), which a script still sees.
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await main(process.argv.slice(2));
