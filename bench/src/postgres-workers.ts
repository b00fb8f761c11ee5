/**
 * The worker scaling figure of the PostgreSQL suite: 1, 2 and 4 worker processes sharing one
 * checkpoint, with the CPU time each unit costs the store (the workers' own CPU, where the source
 * only sleeps, plus the server's), so that scaling on a bigger machine can be predicted. The CPU
 * is split in two: per unit in the steady state (20% to 80% of the units done, every worker busy),
 * and the fixed cost of each worker (its connections, a cold JIT, the last claims and its finish),
 * which a run of a few thousand units cannot spread thin but a real job of millions does. A
 * control runs the same number of workers each on a checkpoint of its own.
 * This file is also the worker process (CK_BENCH_WORKER set).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { everyUnits, openRun, pipeline, type Source } from '@checkpointkit/core';
import { postgresStore } from '@checkpointkit/storage-postgres';
import { note, report } from './lib.js';

const WORKER_UNITS = 3_000;
/** Units each worker runs on a checkpoint of its own before the measured run. */
const WARM_UP_UNITS = 1_000;
/** How often each worker reports its CPU and units done. */
const TICK_MS = 50;
/** Each page costs this much outside the database (an API call, say), as a crawler's would. */
const PAGE_LATENCY_MS = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface WorkersFigure {
  unitsPerSecond: number;
  /** CPU ms per unit in the worker processes (pipeline and store client; the source only sleeps). */
  clientCpuMsPerUnit: number;
  /** CPU ms per unit in the PostgreSQL server's processes, when the server is ours to look at. */
  serverCpuMsPerUnit: number | undefined;
  /** The same two, from 20% to 80% of the units done: no start-up, no tail. */
  steadyClientCpuMsPerUnit: number;
  steadyServerCpuMsPerUnit: number | undefined;
  /** Statements the workers sent per unit in the steady state: the store's work, which no machine load changes. */
  steadyQueriesPerUnit: number;
  /** Times per unit the kernel took a core away from a worker that still wanted it (steady state). */
  steadyPreemptionsPerUnit: number;
}

/** A worker's report: its CPU ms and units done so far, and when it arrived. */
interface Tick {
  at: number;
  cpuMs: number;
  units: number;
  queries: number;
  preemptions: number;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * CPU ms the server's processes have used: the postmaster's own and its reaped children's
 * (cutime/cstime: backends of closed connections), plus every live child's. Linux /proc only.
 */
function serverCpuMs(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const stat = (pid: string) => {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  };
  const own = stat(String(postmaster)); // [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const fields = stat(pid);
      if (Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone between readdir and read
    }
  }
  return (ticks / CLOCK_TICKS) * 1000;
}

/**
 * Starts `count` worker processes on one shared checkpoint, or (`apart`) each on a checkpoint of
 * its own with an equal share of the units; measures them once all ended.
 */
async function workers(
  url: string,
  schema: string,
  count: number,
  dataDir: string | undefined,
  apart = false,
): Promise<WorkersFigure> {
  const id = `bench:workers-${count}${apart ? '-apart' : ''}`;
  const file = fileURLToPath(import.meta.url);
  const children = Array.from({ length: count }, (_, n) =>
    spawn(process.execPath, ['--import', 'tsx', file], {
      env: {
        ...process.env,
        CK_BENCH_WORKER: '1',
        DATABASE_URL: url,
        SCHEMA: schema,
        ID: apart ? `${id}-w${n}` : id,
        UNITS: String(apart ? WORKER_UNITS / count : WORKER_UNITS),
        WORKER: `w${n}`,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  // Each worker starts (tsx, imports, openRun), says `ready`, and waits for `go`: startup is not timed.
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.stdout!.setEncoding('utf8').on('data', (text: string) => {
            if (text.includes('ready')) resolve();
          });
          child.on('close', (code) => reject(new Error(`bench worker exited early (${code})`)));
        }),
    ),
  );
  const start = performance.now();
  // 'close', not 'exit': the last `tick` and `cpu-ms` lines may still be in the pipe at 'exit'.
  const ended = children.map(
    (child) =>
      new Promise<void>((resolve, reject) =>
        child.on('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`bench worker failed (${code})`)),
        ),
      ),
  );
  let clientCpuMs = 0;
  const ticks: Tick[][] = children.map(() => []);
  for (const [n, child] of children.entries()) {
    let rest = '';
    child.stdout!.on('data', (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const tick = /^tick (\S+) (\d+) (\d+) (\d+)$/.exec(line);
        if (tick) {
          const [cpuMs, units, queries, preemptions] = tick.slice(1).map(Number) as [
            number,
            number,
            number,
            number,
          ];
          ticks[n]!.push({ at: performance.now(), cpuMs, units, queries, preemptions });
        }
        const done = /^cpu-ms (\S+)$/.exec(line);
        if (done) clientCpuMs += Number(done[1]);
      }
    });
  }
  const serverSamples: { at: number; cpuMs: number }[] = [];
  const sampleServer = () => {
    if (dataDir) serverSamples.push({ at: performance.now(), cpuMs: serverCpuMs(dataDir) });
  };
  sampleServer();
  const sampler = setInterval(sampleServer, TICK_MS);
  for (const child of children) child.stdin!.end('go\n');
  await Promise.all(ended);
  clearInterval(sampler);
  sampleServer();
  const seconds = (performance.now() - start) / 1000;
  const steady = steadyWindow(ticks, serverSamples);
  const serverCpu = serverSamples.at(-1)!.cpuMs - serverSamples[0]!.cpuMs;
  return {
    unitsPerSecond: WORKER_UNITS / seconds,
    clientCpuMsPerUnit: clientCpuMs / WORKER_UNITS,
    serverCpuMsPerUnit: dataDir ? serverCpu / WORKER_UNITS : undefined,
    steadyClientCpuMsPerUnit: steady.clientCpuMs / steady.units,
    steadyServerCpuMsPerUnit: dataDir ? steady.serverCpuMs / steady.units : undefined,
    steadyQueriesPerUnit: steady.queries / steady.units,
    steadyPreemptionsPerUnit: steady.preemptions / steady.units,
  };
}

/**
 * CPU and units between the moments 20% and 80% of all units were done: each worker's ticks
 * nearest those moments, and the server's samples nearest them.
 */
function steadyWindow(
  ticks: Tick[][],
  server: { at: number; cpuMs: number }[],
): {
  units: number;
  clientCpuMs: number;
  serverCpuMs: number;
  queries: number;
  preemptions: number;
} {
  const events = ticks.flat().sort((a, b) => a.at - b.at);
  const latest = ticks.map(() => 0);
  const doneAt = (fraction: number): number => {
    latest.fill(0);
    for (const event of events) {
      const n = ticks.findIndex((list) => list.includes(event));
      latest[n] = event.units;
      if (latest.reduce((a, b) => a + b, 0) >= fraction * WORKER_UNITS) return event.at;
    }
    throw new Error('bench workers never reported that many units');
  };
  const from = doneAt(0.2);
  const to = doneAt(0.8);
  const at = <T extends { at: number }>(list: T[], time: number): T =>
    list.reduce((best, item) =>
      Math.abs(item.at - time) < Math.abs(best.at - time) ? item : best,
    );
  const sum = { units: 0, clientCpuMs: 0, queries: 0, preemptions: 0 };
  for (const list of ticks) {
    const a = at(list, from);
    const b = at(list, to);
    sum.units += b.units - a.units;
    sum.clientCpuMs += b.cpuMs - a.cpuMs;
    sum.queries += b.queries - a.queries;
    sum.preemptions += b.preemptions - a.preemptions;
  }
  const serverCpuMs = server.length > 1 ? at(server, to).cpuMs - at(server, from).cpuMs : 0;
  return { ...sum, serverCpuMs };
}

export async function scaling(url: string, dataDir: string | undefined): Promise<void> {
  const schema = 'bench_workers';
  const store = postgresStore({ connectionString: url, schema });
  await store.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await store.migrate();
  const figures = new Map<number, WorkersFigure>();
  const apart = new Map<number, WorkersFigure>();
  for (const count of [1, 2, 4]) {
    figures.set(count, await workers(url, schema, count, dataDir));
    if (count > 1) apart.set(count, await workers(url, schema, count, dataDir, true));
  }
  const storeCpu = (f: WorkersFigure) => f.clientCpuMsPerUnit + (f.serverCpuMsPerUnit ?? 0);
  const steadyCpu = (f: WorkersFigure) =>
    f.steadyClientCpuMsPerUnit + (f.steadyServerCpuMsPerUnit ?? 0);
  const ms = (value: number | undefined) =>
    value === undefined ? 'not measured' : value.toFixed(3);
  const one = figures.get(1)!;
  const describe = (count: number, f: WorkersFigure, how: string) => {
    // What the whole run cost beyond its units at the steady rate, per worker.
    const fixed = ((storeCpu(f) - steadyCpu(f)) * WORKER_UNITS) / count;
    note(
      `${count} worker${count === 1 ? '' : 's'}${how}, ${WORKER_UNITS} units (${PAGE_LATENCY_MS} ms of I/O per page)`,
      `${f.unitsPerSecond.toFixed(0)} units/s; CPU ms per unit over the whole run: workers ${ms(f.clientCpuMsPerUnit)}, server ${dataDir ? ms(f.serverCpuMsPerUnit) : 'not measured (DATABASE_URL)'}; in the steady state: workers ${ms(f.steadyClientCpuMsPerUnit)}, server ${ms(f.steadyServerCpuMsPerUnit)}, ${f.steadyQueriesPerUnit.toFixed(2)} statements and ${f.steadyPreemptionsPerUnit.toFixed(2)} preemptions of a worker per unit; fixed cost per worker ≈ ${fixed.toFixed(0)} CPU ms`,
    );
  };
  for (const [count, f] of figures) {
    describe(count, f, count === 1 ? '' : ', one shared checkpoint');
    const control = apart.get(count);
    if (control) describe(count, control, ', each on a checkpoint of its own');
  }
  for (const count of [2, 4]) {
    const many = figures.get(count)!;
    report({
      what: `${count} worker processes against 1, one shared checkpoint`,
      subject: { label: `${count} workers`, value: many.unitsPerSecond, unit: 'units/s' },
      baseline: { label: '1 worker', value: one.unitsPerSecond, unit: 'units/s' },
      kind: 'throughput',
    });
    report({
      what: `the store's CPU per unit in the steady state, ${count} workers against 1 (workers' processes${dataDir ? ' + server' : ''}; must not rise)`,
      subject: { label: `${count} workers`, value: steadyCpu(many), unit: 'CPU ms/unit' },
      baseline: { label: '1 worker', value: steadyCpu(one), unit: 'CPU ms/unit' },
      kind: 'overhead',
      goal: 1,
    });
    // The control: the same processes on the same machine, without the sharing. What the shared
    // checkpoint costs is the difference; the rest is the machine (cores taken, caches shared).
    report({
      what: `the same, ${count} workers sharing one checkpoint against ${count} workers on checkpoints of their own (same machine load, no sharing)`,
      subject: { label: 'sharing', value: steadyCpu(many), unit: 'CPU ms/unit' },
      baseline: { label: 'apart', value: steadyCpu(apart.get(count)!), unit: 'CPU ms/unit' },
      kind: 'overhead',
    });
    report({
      what: `the same over the whole run of ${WORKER_UNITS} units, start-up and tail included`,
      subject: { label: `${count} workers`, value: storeCpu(many), unit: 'CPU ms/unit' },
      baseline: { label: '1 worker', value: storeCpu(one), unit: 'CPU ms/unit' },
      kind: 'overhead',
    });
  }
  await store.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await store.close();
}

/** Times the kernel took the CPU from this process's main thread while it could still run. */
function preemptions(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

/** One worker of the scaling figure: claims units until none is left. */
async function worker(): Promise<void> {
  const env = (name: string) => process.env[name] ?? '';
  const store = postgresStore({ schema: env('SCHEMA'), migrate: false, maxConnections: 4 });
  // Statements sent, counted on every connection the pool opens (pool.query goes through them).
  let queries = 0;
  store.pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      queries += 1;
      return query(...args);
    };
  });
  // Each page costs `latency` ms outside the database (none while warming up).
  const source = (count: number, latency: number): Source<number> => ({
    units: () => Array.from({ length: count }, (_, i) => ({ key: `unit/${i}` })),
    async *read() {
      if (latency > 0) await sleep(latency);
      yield { items: [1], cursor: 1 };
    },
  });
  const join = (id: string) =>
    openRun({
      id,
      store,
      strategy: everyUnits(20),
      signals: false,
      worker: { id: env('WORKER'), leaseMs: 10_000 },
    });
  // Warm up on a checkpoint of its own (the pool's connections, the JIT), as a job that has been
  // running for a while is: the figure is about the store, not about cold code.
  const warm = await join(`${env('ID')}:warm-up:${env('WORKER')}`);
  await pipeline({
    run: warm,
    source: source(WARM_UP_UNITS, 0),
    sink: { write: () => undefined },
    concurrency: 8,
    claimBatch: 20,
  });
  await warm.finish();
  const measured = source(Number(env('UNITS')), PAGE_LATENCY_MS);
  const run = await join(env('ID'));
  // Plan before the clock starts, like a job that has been running.
  await run.plan(
    measured.units({ run, signal: new AbortController().signal }) as Iterable<{ key: string }>,
  );
  await run.flush('planned');
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  const cpu = process.cpuUsage();
  let units = 0;
  const cpuMs = () => {
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000;
  };
  const tick = () => process.stdout.write(`tick ${cpuMs()} ${units} ${queries} ${preemptions()}\n`);
  const ticker = setInterval(tick, TICK_MS);
  await pipeline({
    run,
    source: measured,
    sink: {
      write: (items) => {
        units += items.length;
      },
    },
    concurrency: 8,
    claimBatch: 20,
  });
  tick();
  clearInterval(ticker);
  await run.finish();
  process.stdout.write(`cpu-ms ${cpuMs()}\n`);
  await store.close();
}

if (process.env['CK_BENCH_WORKER']) {
  await worker();
  process.exit(0);
}
