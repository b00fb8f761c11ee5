import type { PipelineEvent } from '@checkpointkit/core';
import cliProgress from 'cli-progress';

/**
 * A progress bar over all units' items, drawn with cli-progress on a terminal; on a pipe or with
 * NO_COLOR it prints a plain line every 10% instead.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  const interactive = stream.isTTY === true && !process.env['CI'];
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {percentage}% | {value}/{total} readings | {units}',
      stream,
      noTTYOutput: false,
      hideCursor: interactive,
      ...(process.env['NO_COLOR'] !== undefined && {
        barCompleteChar: '#',
        barIncompleteChar: '-',
      }),
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let done = 0;
  let lastTenth = -1;
  const perUnit = new Map<string, number>();

  return {
    update(event: PipelineEvent): void {
      if (event.type === 'planned') {
        total = event.summary.items.total ?? 0;
        done = event.summary.items.done;
        if (interactive) bar.start(total, done, { units: `${event.pending} stations to go` });
      } else if (event.type === 'page') {
        done += event.done - (perUnit.get(event.key) ?? event.done - event.items);
        perUnit.set(event.key, event.done);
        if (interactive) bar.update(done, { units: event.key });
        else {
          const tenth = total > 0 ? Math.floor((done / total) * 10) : 0;
          if (tenth !== lastTenth)
            stream.write(`progress: ${tenth * 10}% (${done}/${total} readings)\n`);
          lastTenth = tenth;
        }
      }
    },
    stop(): void {
      if (interactive) bar.stop();
    },
  };
}
