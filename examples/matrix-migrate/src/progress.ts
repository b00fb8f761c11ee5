import type { PipelineEvent } from '@checkpointkit/core';
import cliProgress from 'cli-progress';

/**
 * Progress bars with cli-progress on a terminal: one for the rooms (pages of the site), one line
 * per room with its messages. On a pipe (or in CI) it prints a plain line per event instead.
 */
export function progressBars(stream: NodeJS.WriteStream = process.stderr) {
  const interactive = stream.isTTY === true && !process.env['CI'];
  const multi = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: interactive,
      clearOnComplete: false,
      format: ' {bar} {value}/{total} pages | {label}',
      ...(process.env['NO_COLOR'] !== undefined && {
        barCompleteChar: '#',
        barIncompleteChar: '-',
      }),
    },
    cliProgress.Presets.shades_classic,
  );
  let pages: cliProgress.SingleBar | undefined;
  const rooms = new Map<string, cliProgress.SingleBar>();
  let completed = 0;
  const log = (line: string) => {
    if (interactive) multi.log(`${line}\n`);
    else stream.write(`${line}\n`);
  };
  const roomBar = (key: string, done: number) => {
    let bar = rooms.get(key);
    if (!bar && interactive) {
      bar = multi.create(
        0,
        done,
        { label: key },
        { format: '   {label}: {value} comments {status}' },
      );
      rooms.set(key, bar);
    }
    return bar;
  };

  return {
    log,
    update(event: PipelineEvent): void {
      switch (event.type) {
        case 'planned':
          completed = event.summary.counts.complete;
          if (interactive)
            pages = multi.create(event.units, completed, { label: `${event.pending} to go` });
          else stream.write(`planned: ${event.units} pages, ${event.pending} to go\n`);
          break;
        case 'unit-started':
          roomBar(event.key, 0)?.update(0, { status: '' });
          break;
        case 'page':
          if (interactive) roomBar(event.key, event.done)?.update(event.done, { status: '' });
          else stream.write(`page ${event.key}: +${event.items} (${event.done} in this room)\n`);
          break;
        case 'unit-completed':
          completed += 1;
          pages?.update(completed, { label: event.key });
          roomBar(event.key, event.done)?.update(event.done, { status: 'done' });
          if (!interactive) stream.write(`completed ${event.key}: ${event.done} comments\n`);
          break;
        case 'unit-failed':
          roomBar(event.key, 0)?.update({ status: `FAILED: ${event.message}` });
          log(
            `failed ${event.key}: ${event.message}${event.retryable ? ' (will retry on the next run)' : ''}`,
          );
          break;
      }
    },
    stop(): void {
      if (interactive) multi.stop();
    },
  };
}
