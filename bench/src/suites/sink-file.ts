/**
 * sink-file: a job with a file per unit (one page each) through the file sink, against the least
 * such a job can do: open, write, fdatasync and close each file. What the sink adds per file: the
 * folder synced once for the new file's name, the per-page checks, and its hold against other jobs
 * (a lock folder made beside the file, removed once the file is closed and a flush recorded it).
 * Holds kept until the sink closed (one of 2 locks per file, each refreshed every 7.5 s) made this
 * job 2.7x slower than without them; the figure is here to keep it watched (no goal was set:
 * it is printed as a ratio only).
 */
import { constants } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore, openRun, pipeline, type Sink, type Source } from '@checkpointkit/core';
import { jsonLinesSink } from '@checkpointkit/sink-file';
import { note, report, type Suite, timeMedians } from '../lib.js';

const FILES = 1000;

interface Row {
  unit: string;
  n: number;
}

const row = (unit: string) => `${JSON.stringify({ unit, n: 0 })}\n`;

const source: Source<Row> = {
  units: () => Array.from({ length: FILES }, (_, i) => ({ key: `u${i}` })),
  async *read({ key }) {
    yield { items: [{ unit: key, n: 0 }], cursor: 1 };
  },
};

/** The holds left beside the files when the pipeline's last page was written. */
let holdsAtEnd = -1;

/** FILES units through `pipeline()` into a file each, the memory store saving as it likes. */
async function throughSink(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ck-bench-sink-'));
  const run = await openRun({ id: 'bench:sink-file', store: memoryStore(), signals: false });
  const sink = jsonLinesSink<Row>({ path: (unit) => join(dir, `${unit}.jsonl`) });
  // The pipeline closes its sink: counted here after the holds still there are.
  const counted: Sink<Row> = {
    open: (context) => sink.open?.(context),
    write: (items, context) => sink.write(items, context),
    close: async () => {
      holdsAtEnd = (await readdir(dir)).filter((name) => name.endsWith('.sink-hold')).length;
      await sink.close?.();
    },
  };
  await pipeline({ run, source, sink: counted });
  await run.finish();
  await rm(dir, { recursive: true, force: true });
}

/** The same files, each opened, written, fdatasynced and closed: no checkpoint, no checks. */
async function plainFiles(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ck-bench-plain-'));
  for (let i = 0; i < FILES; i++) {
    const file = await open(join(dir, `u${i}.jsonl`), constants.O_WRONLY | constants.O_CREAT);
    await file.write(row(`u${i}`));
    await file.datasync();
    await file.close();
  }
  await rm(dir, { recursive: true, force: true });
}

/** CPU (user + system) of `work`, in ms. */
async function cpuOf(work: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const suite: Suite = {
  name: 'sink-file',
  async run() {
    const { subject, baseline } = await timeMedians(throughSink, plainFiles, 5);
    report({
      what: `a file per unit: ${FILES} units of one page through jsonLinesSink and pipeline() (memory store)`,
      subject: { label: 'file sink', value: subject, unit: 'ms' },
      baseline: { label: 'open + write + fdatasync + close per file', value: baseline, unit: 'ms' },
      kind: 'overhead',
    });
    const cpu = { sink: await cpuOf(throughSink), plain: await cpuOf(plainFiles) };
    note(
      'CPU per file (one more run each)',
      `file sink ${((cpu.sink * 1000) / FILES).toFixed(0)} µs, plain ${((cpu.plain * 1000) / FILES).toFixed(0)} µs`,
    );
    note('holds left when the last page was written (of the files kept open)', String(holdsAtEnd));
  },
};

export default suite;
