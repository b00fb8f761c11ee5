import type { CheckpointSummary } from '@checkpointkit/core';
import { formatSummaryLine } from '@checkpointkit/core';
import cliProgress from 'cli-progress';
import { printable } from '../excerpt.js';
import type { Output } from '../output.js';
import { percentText } from './percent.js';
import { dateTime } from './time.js';

/** How `watch` shows progress: a redrawn bar on a terminal, one line per change elsewhere. */
export interface ProgressView {
  update(summary: CheckpointSummary): void;
  /** Ends the display (idempotent). */
  stop(): void;
}

export function progressView(out: Output): ProgressView {
  return out.interactive ? barView(out) : lineView(out);
}

/** A cli-progress bar over complete units, with failed units and the status beside it. */
function barView(out: Output): ProgressView {
  const c = out.color;
  const bar = new cliProgress.SingleBar(
    {
      stream: out.io.stdout,
      // Our percent, not cli-progress's {percentage}, which truncates to whole numbers.
      format: `{id} ${c.cyan('{bar}')} {percent} | {value}/{total} units | {failed} failed | {status}`,
      barsize: Math.max(10, Math.min(40, out.width - 80)),
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  return {
    update(summary) {
      const payload = {
        id: printable(summary.id),
        percent: percentText(summary.percent),
        failed: summary.counts.failed,
        status: summary.status,
      };
      if (!started) {
        bar.start(summary.total, summary.counts.complete, payload);
        started = true;
      } else {
        bar.setTotal(summary.total);
        bar.update(summary.counts.complete, payload);
      }
    },
    stop() {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}

/** A timestamped summary line whenever the summary line changes: fit for logs and pipes. */
function lineView(out: Output): ProgressView {
  let last = '';
  return {
    update(summary) {
      const line = printable(formatSummaryLine(summary));
      if (line === last) return;
      last = line;
      out.line(`${dateTime(summary.updatedAt)} ${line}`);
    },
    stop() {},
  };
}
