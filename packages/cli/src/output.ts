import type { Readable, Writable } from 'node:stream';
import pc from 'picocolors';
import { safeLine } from './excerpt.js';

/** A stream the CLI writes to; a terminal adds `isTTY`, `columns` and `hasColors`. */
export type OutStream = Writable & { isTTY?: boolean; columns?: number; hasColors?: () => boolean };

/** Where the CLI reads and writes, and its environment: the real process, or a test's own. */
export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Whether to colour a stream: never with `NO_COLOR` set (https://no-color.org), always with
 * `FORCE_COLOR` (other than `0`), otherwise only on a terminal that supports colours.
 */
export function colorsEnabled(stream: OutStream, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') {
    return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  }
  if (!stream.isTTY || env.TERM === 'dumb') return false;
  return stream.hasColors ? stream.hasColors() : true;
}

/** Line-oriented writing to stdout and stderr, with colours only where they belong. */
export class Output {
  readonly color: Colors;
  readonly errColor: Colors;
  constructor(readonly io: Io) {
    this.color = pc.createColors(colorsEnabled(io.stdout, io.env));
    this.errColor = pc.createColors(colorsEnabled(io.stderr, io.env));
  }

  /** True when stdout is a terminal: progress bars redraw in place only there. */
  get interactive(): boolean {
    return Boolean(this.io.stdout.isTTY);
  }

  /** Terminal width, or 100 when stdout is not a terminal. */
  get width(): number {
    return this.io.stdout.columns ?? 100;
  }

  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  lines(texts: Iterable<string>): void {
    for (const text of texts) this.line(text);
  }

  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A note on stderr, so that stdout stays clean for pipes. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /**
   * Warnings and errors may quote a file's name or bytes (a parser's excerpt): printed through
   * {@link safeLine}, they stay one line and never reach the terminal as control characters.
   */
  warn(message: string): void {
    this.io.stderr.write(
      `${this.errColor.yellow('checkpointkit: warning:')} ${safeLine(message)}\n`,
    );
  }

  error(message: string): void {
    this.io.stderr.write(`${this.errColor.red('checkpointkit: error:')} ${safeLine(message)}\n`);
  }
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
