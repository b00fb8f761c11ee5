import { Command, CommanderError, Option } from 'commander';
import { lsCommand } from './commands/ls.js';
import { migrateCommand } from './commands/migrate.js';
import { repairCommand } from './commands/repair.js';
import { resetCommand } from './commands/reset.js';
import { resetFailedCommand } from './commands/reset-failed.js';
import { rmCommand } from './commands/rm.js';
import { showCommand } from './commands/show.js';
import { watchCommand } from './commands/watch.js';
import type { Context } from './context.js';
import { classify } from './errors.js';
import { EXIT } from './exit-codes.js';
import { type Io, Output, processIo } from './output.js';
import { checkStoreOptions } from './stores.js';
import { VERSION } from './version.js';

const EXIT_HELP = `
Exit codes:
  0  ok                                  4  locked by a running job (nothing changed)
  1  failure (I/O, database, cancelled)  5  damaged or unknown file (left untouched)
  2  usage                               6  migrate target exists (use --force)
  3  no such checkpoint, unit or file    130  interrupted (Ctrl+C)
                                         143  watch stopped by SIGTERM
A damaged checkpoint of the file store: \`checkpointkit repair <id>\` moves the damaged file aside
and keeps every valid change.

Environment:
  CHECKPOINT_DIR    directory of the file store (default .checkpoints)
  CHECKPOINT_STORE  file or postgres (default file); --dir, --url or --schema beat it
  DATABASE_URL      PostgreSQL connection string for --store postgres
  NO_COLOR          no colours; FORCE_COLOR forces them`;

/** The `checkpointkit` command with every verb. */
export function buildProgram(context: Context): Command {
  const { io } = context;
  const program = new Command('checkpointkit')
    .description('Inspect and manage CheckpointKit checkpoints.')
    .version(VERSION, '-V, --version')
    .addOption(
      new Option(
        '--store <kind>',
        'where checkpoints live (default: CHECKPOINT_STORE or file)',
      ).choices(['file', 'postgres']),
    )
    .option('--dir <dir>', 'directory of the file store (default: CHECKPOINT_DIR or .checkpoints)')
    .option(
      '--url <url>',
      'PostgreSQL connection string (default: DATABASE_URL); implies --store postgres',
    )
    .option('--schema <name>', 'PostgreSQL schema of the store')
    .addHelpText('after', EXIT_HELP)
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError()
    // Every verb, even one given a file that opens no store (`show ./x.json --url ''`).
    .hook('preAction', (_program, action) => checkStoreOptions(action.optsWithGlobals()))
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // One line: commander puts a suggestion ("Did you mean ls?") on a line of its own.
      outputError: (text, write) =>
        write(`checkpointkit: ${text.trimEnd().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  for (const make of [
    lsCommand,
    showCommand,
    resetFailedCommand,
    resetCommand,
    rmCommand,
    repairCommand,
    migrateCommand,
    watchCommand,
  ]) {
    program.addCommand(make(context).copyInheritedSettings(program));
  }
  return program;
}

/**
 * Runs the CLI with `args` (without `node` and the script) and returns the exit code. Errors end
 * as one line on stderr (`CHECKPOINTKIT_DEBUG=1` adds the stack).
 */
export async function main(args: string[], io: Io = processIo()): Promise<number> {
  const out = new Output(io);
  const context: Context = { io, out, now: () => Date.now(), exitCode: EXIT.OK };
  const program = buildProgram(context);
  if (args.length === 0) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed its own message (or the help / version) already.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const { code, message } = classify(error);
    out.error(message);
    if (io.env.CHECKPOINTKIT_DEBUG && error instanceof Error && error.stack) out.note(error.stack);
    return code;
  }
}
