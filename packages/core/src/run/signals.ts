/**
 * One SIGINT/SIGTERM listener per process, shared by every open run: on a signal each run flushes
 * and marks itself interrupted, then the process exits 130 (SIGINT) or 143 (SIGTERM), as a shell
 * expects of a job stopped by Ctrl+C or `kill`.
 */
export interface SignalTarget {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

/** Where signals come from and how the process ends; tests pass their own. */
export interface SignalOptions {
  target?: SignalTarget;
  exit?: (code: number) => void;
}

export interface Interruptible {
  interrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<void>;
}

export const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

interface Registration {
  runs: Set<Interruptible>;
  exit: (code: number) => void;
  /** The default exit: let the process's own output leave it first (see outputDrained). */
  drainOutput: boolean;
  listeners: Record<'SIGINT' | 'SIGTERM', () => void>;
  stopping: boolean;
}

const registrations = new Map<SignalTarget, Registration>();

function defaultTarget(): SignalTarget {
  const target = globalThis.process as SignalTarget | undefined;
  if (!target?.on) throw new Error('signal handling needs Node.js; pass signals: false');
  return target;
}

/** Registers a run for signal handling; the returned function unregisters it. */
export function handleSignals(run: Interruptible, options: SignalOptions = {}): () => void {
  const target = options.target ?? defaultTarget();
  let registration = registrations.get(target);
  if (!registration) {
    const created: Registration = {
      runs: new Set(),
      exit: options.exit ?? ((code) => globalThis.process.exit(code)),
      drainOutput: !options.exit,
      stopping: false,
      listeners: {
        SIGINT: () => void stop(created, 'SIGINT'),
        SIGTERM: () => void stop(created, 'SIGTERM'),
      },
    };
    target.on('SIGINT', created.listeners.SIGINT);
    target.on('SIGTERM', created.listeners.SIGTERM);
    registrations.set(target, created);
    registration = created;
  }
  const current = registration;
  current.runs.add(run);
  return () => {
    current.runs.delete(run);
    if (current.runs.size === 0 && !current.stopping) {
      target.off('SIGINT', current.listeners.SIGINT);
      target.off('SIGTERM', current.listeners.SIGTERM);
      registrations.delete(target);
    }
  };
}

async function stop(registration: Registration, signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const code = EXIT_CODES[signal];
  // A second Ctrl+C while we save means "now": exit at once.
  if (registration.stopping) return registration.exit(code);
  registration.stopping = true;
  const runs = [...registration.runs];
  const results = await Promise.allSettled(runs.map((run) => run.interrupt(signal)));
  for (const result of results) {
    if (result.status === 'rejected') {
      console.error(`checkpointkit: could not save on ${signal}: ${String(result.reason)}`);
    }
  }
  if (registration.drainOutput) await outputDrained(OUTPUT_DRAIN_MS);
  registration.exit(code);
}

/** How long an exit on a signal waits, at most, for the process's output to leave it. */
const OUTPUT_DRAIN_MS = 5000;

/**
 * Resolves once what the process wrote to stdout and stderr has left it, or after `ms`. Node
 * writes to pipes asynchronously: while the reader lags (a log collector, `| tee`), a job's
 * last lines queue in the process, and `process.exit` drops them.
 */
async function outputDrained(ms: number): Promise<void> {
  const process = globalThis.process;
  const streams = [process.stdout, process.stderr];
  const deadline = Date.now() + ms;
  while (streams.some((stream) => stream?.writableLength > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
