import { createInterface } from 'node:readline/promises';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { printable } from './excerpt.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/**
 * Asks a yes/no question on the terminal; anything but `y`/`yes` declines (exit 1). Without a
 * terminal on standard input it does not guess: it refuses with a usage error naming `--yes`.
 * The question quotes the checkpoint (its id, what is wrong with it): printed escaped.
 */
export async function confirm(context: Context, question: string, verb: string): Promise<void> {
  const { stdin, stderr } = context.io;
  if (!stdin.isTTY) {
    throw new CliError(
      `${verb} asks for confirmation, but standard input is not a terminal: pass --yes (nothing was changed)`,
      EXIT.USAGE,
    );
  }
  const prompt = createInterface({ input: stdin, output: stderr });
  const interrupt = new AbortController();
  // Ctrl+C at the prompt declines, so that the caller's cleanup (a lock's release) still runs.
  let code: number = EXIT.FAILURE;
  prompt.on('SIGINT', () => {
    code = EXIT.INTERRUPTED;
    interrupt.abort();
  });
  prompt.on('close', () => interrupt.abort());
  try {
    const answer = await prompt
      .question(`${printable(question)} [y/N] `, { signal: interrupt.signal })
      .catch(() => {
        stderr.write('\n');
        throw new CliError('cancelled: nothing was changed', code as ExitCode);
      });
    if (!/^\s*y(es)?\s*$/i.test(answer)) {
      throw new CliError('cancelled: nothing was changed', EXIT.FAILURE);
    }
  } finally {
    prompt.close();
  }
}
