import type { PipelineEvent } from '@checkpointkit/core';
import cliProgress from 'cli-progress';

/**
 * A bar over the units (repository discovery, then each repository's endpoints: the total grows
 * as discovery finds repositories), with the records collected. On a pipe, in CI or with NO_COLOR
 * it prints a plain line every 10% instead.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  const interactive = stream.isTTY === true && !process.env['CI'];
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {percentage}% | {value}/{total} units | {records} records | {unit}',
      stream,
      hideCursor: interactive,
      ...(process.env['NO_COLOR'] !== undefined && {
        barCompleteChar: '#',
        barIncompleteChar: '-',
      }),
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let finished = 0;
  let records = 0;
  let started = false;
  let lastTenth = -1;

  const draw = (unit: string) => {
    if (interactive) {
      if (!started) bar.start(total, finished, { records, unit });
      started = true;
      bar.setTotal(total);
      bar.update(finished, { records, unit });
      return;
    }
    const tenth = total > 0 ? Math.floor((finished / total) * 10) : 0;
    if (tenth !== lastTenth)
      stream.write(`progress: ${finished}/${total} units, ${records} records\n`);
    lastTenth = tenth;
  };

  return {
    update(event: PipelineEvent): void {
      switch (event.type) {
        case 'planned':
          total = event.summary.total;
          finished = event.summary.counts.complete + event.summary.counts.failed;
          records = event.summary.items.done;
          draw('planned');
          break;
        case 'page':
          records += event.items;
          draw(event.key);
          break;
        case 'unit-completed':
        case 'unit-failed':
          finished += 1;
          draw(event.key);
          break;
        default:
          break;
      }
    },
    stop(): void {
      if (interactive && started) bar.stop();
    },
  };
}
