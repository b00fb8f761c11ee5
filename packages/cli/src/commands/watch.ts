import { setTimeout as sleep } from 'node:timers/promises';
import { type Checkpoint, formatSummaryLine, summarize } from '@checkpointkit/core';
import { Command } from 'commander';
import { checkpointId, milliseconds } from '../arguments.js';
import { type Context, storeOptionsOf, withStore } from '../context.js';
import { notFound } from '../edit.js';
import { CliError } from '../errors.js';
import { printable } from '../excerpt.js';
import { EXIT } from '../exit-codes.js';
import { progressView } from '../format/progress.js';
import { dateTime } from '../format/time.js';
import type { StoreHandle } from '../stores.js';

interface WatchOptions {
  interval: number;
}

/** How watching ended. */
type Outcome =
  | { kind: 'stopped'; checkpoint: Checkpoint }
  | { kind: 'removed' }
  | { kind: 'vanished'; checkpoint: Checkpoint }
  | { kind: 'interrupted'; signal: StopSignal };

/**
 * The signals that stop watching. SIGTERM too (`kill`, `timeout`, a service manager): dying of it
 * unhandled would leave the terminal as the bar set it, without a cursor and without line wrap.
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

export function watchCommand(context: Context): Command {
  return new Command('watch')
    .description('follow a running job until it stops: a progress bar, or a line per change')
    .argument('<id>', 'checkpoint id', checkpointId)
    .option('--interval <ms>', 'how often to read the checkpoint', milliseconds, 250)
    .action(async (id: string, options: WatchOptions, command: Command) => {
      const outcome = await withStore(context, storeOptionsOf(command), (handle) =>
        follow(context, handle, id, options.interval),
      );
      const out = context.out;
      switch (outcome.kind) {
        case 'interrupted':
          throw outcome.signal === 'SIGINT'
            ? new CliError('stopped watching (Ctrl+C); the job was not touched', EXIT.INTERRUPTED)
            : new CliError('stopped watching (SIGTERM); the job was not touched', EXIT.TERMINATED);
        case 'removed':
          out.line(
            `checkpoint "${printable(id)}" was removed (a job with auto cleanup deletes it when it finishes without failures)`,
          );
          return;
        case 'vanished':
          throw new CliError(
            `the job of checkpoint "${id}" is gone (its process died or was killed) but the checkpoint still says running; the next run resumes it`,
            EXIT.FAILURE,
          );
        case 'stopped': {
          const summary = summarize(outcome.checkpoint);
          // The line view printed the final state already; after a bar, this line says it.
          if (out.interactive) {
            out.line(`${dateTime(summary.updatedAt)} ${printable(formatSummaryLine(summary))}`);
          }
          if (summary.status !== 'completed') context.exitCode = EXIT.FAILURE;
        }
      }
    });
}

/**
 * Reads the checkpoint every `interval` ms without its lock and shows its progress until it
 * stops running, disappears, its job's process is gone, or Ctrl+C (or SIGTERM).
 */
async function follow(
  context: Context,
  handle: StoreHandle,
  id: string,
  interval: number,
): Promise<Outcome> {
  const stop = new AbortController();
  let signal: StopSignal = 'SIGINT';
  const onSignal = (received: StopSignal) => {
    signal = received;
    stop.abort();
  };
  for (const name of STOP_SIGNALS) process.once(name, onSignal);
  const view = progressView(context.out);
  let seen = false;
  try {
    while (!stop.signal.aborted) {
      let checkpoint = await handle.read(id);
      if (!checkpoint) {
        if (!seen) throw notFound(handle, id);
        return { kind: 'removed' };
      }
      // A job takes the lock before it marks its checkpoint running, and marks it before it lets
      // go: running without a live lock holder (none, or a dead pid) means the job died, whether
      // before or while it was watched. The next run resumes it; waiting here would never end.
      if (checkpoint.status === 'running' && !(await handle.lockOwner(id))) {
        // It may have finished between the two reads: read it once more.
        const again = await handle.read(id);
        if (!again) return { kind: 'removed' };
        checkpoint = again;
        if (checkpoint.status === 'running') {
          view.update(summarize(checkpoint));
          return { kind: 'vanished', checkpoint };
        }
      }
      seen = true;
      view.update(summarize(checkpoint));
      if (checkpoint.status !== 'running') return { kind: 'stopped', checkpoint };
      await sleep(interval, undefined, { signal: stop.signal }).catch(() => {});
    }
    return { kind: 'interrupted', signal };
  } finally {
    view.stop();
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
  }
}
