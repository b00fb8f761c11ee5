import { setTimeout as sleep } from 'node:timers/promises';
import { type Checkpoint, formatSummaryLine, summarize } from '@checkpointkit/core';
import { Command } from 'commander';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { notFound } from '../edit.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { type ProgressView, progressView } from '../format/progress.js';
import { dateTime } from '../format/time.js';
import { positiveInt } from './show.js';

interface WatchOptions {
  interval: number;
}

export function watchCommand(context: Context): Command {
  return new Command('watch')
    .description(
      'follow a running job: a live progress bar on a terminal, a line per change otherwise; ends when the job stops running',
    )
    .argument('<id>', 'checkpoint id')
    .option('--interval <ms>', 'how often to read the checkpoint', positiveInt, 250)
    .action(async (id: string, options: WatchOptions, command: Command) => {
      await withStore(context, storeOptionsOf(command), async (handle) => {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        const view: ProgressView = progressView(context.out);
        let seen: Checkpoint | null = null;
        let warnedUnlocked = false;
        try {
          while (!stop.signal.aborted) {
            const checkpoint = await handle.read(id);
            if (!checkpoint) {
              if (!seen) throw notFound(handle, id);
              view.stop();
              context.out.line(
                `checkpoint "${id}" was removed (a job with auto cleanup deletes it when it finishes without failures)`,
              );
              return;
            }
            seen = checkpoint;
            view.update(summarize(checkpoint));
            if (checkpoint.status !== 'running') break;
            if (!warnedUnlocked && handle.kind === 'file' && !(await handle.lockOwner(id))) {
              warnedUnlocked = true;
              context.out.note(
                `checkpoint "${id}" is marked running but no process holds its lock: waiting for a job to start`,
              );
            }
            await sleep(options.interval, undefined, { signal: stop.signal }).catch(() => {});
          }
        } finally {
          view.stop();
          process.off('SIGINT', onSignal);
        }
        if (stop.signal.aborted) {
          throw new CliError(
            'stopped watching (Ctrl+C); the job was not touched',
            EXIT.INTERRUPTED,
          );
        }
        const summary = summarize(seen!);
        // The line view printed the final state already; the bar leaves it to this line.
        if (context.out.interactive) {
          context.out.line(`${dateTime(summary.updatedAt)} ${formatSummaryLine(summary)}`);
        }
        if (summary.status !== 'completed') context.exitCode = EXIT.FAILURE;
      });
    });
}
