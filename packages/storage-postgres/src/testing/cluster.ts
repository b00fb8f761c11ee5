import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PostgreSQL server started for tests; `stop()` ends it and removes its files. */
export interface TestCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** The cluster's temporary directory (data, log and unix socket). */
  dir: string;
  /** Restarts the server (`pg_ctl restart -m fast`): every connection is cut, as in a deploy. */
  restart(): Promise<void>;
  /** Stops the server, keeping its files, until {@link TestCluster.resume}: an outage. */
  pause(): Promise<void>;
  /** Starts the server {@link TestCluster.pause} stopped. */
  resume(): Promise<void>;
  /** Ends the server and removes its files. */
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /** Directory of initdb and pg_ctl. Default: PG_BIN, the newest /usr/lib/postgresql/<n>/bin, or PATH. */
  binDir?: string;
  /** When running as root, the user the server runs as (PostgreSQL refuses root). Default `postgres`. */
  user?: string;
  /**
   * Keep PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes on), as a
   * production server has them: for benchmarks. Default false: tests do not need their data to
   * survive a power cut, and run faster without.
   */
  durable?: boolean;
}

/**
 * Starts a throwaway PostgreSQL cluster: initdb into a temporary directory, then pg_ctl start on
 * a free port, listening on 127.0.0.1 only, with its unix socket in that directory, trust
 * authentication, and (unless `durable`) fsync off, since it holds test data only. As root the server runs as `user`
 * (the Debian package creates `postgres`), since PostgreSQL refuses to run as root.
 */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const bin = options.binDir ?? findBinDir();
  const asRoot = process.getuid?.() === 0;
  const user = options.user ?? 'postgres';
  const dir = await mkdtemp(join(tmpdir(), 'checkpointkit-pg-'));
  const as = async (file: string, args: string[]) => {
    const command = bin ? join(bin, file) : file;
    if (asRoot) return run('runuser', ['-u', user, '--', command, ...args], { cwd: dir });
    return run(command, args, { cwd: dir });
  };
  try {
    if (asRoot) {
      const { stdout } = await run('id', ['-u', user]);
      const { stdout: gid } = await run('id', ['-g', user]);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    const data = join(dir, 'data');
    await as('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const port = await freePort();
    const settings = [
      `-c listen_addresses=127.0.0.1`,
      `-c port=${port}`,
      `-c unix_socket_directories=${dir}`,
      ...(options.durable
        ? []
        : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      '-c max_connections=200',
    ].join(' ');
    const start = () =>
      as('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-o',
        settings,
        '-w',
        '-t',
        '60',
        'start',
      ]);
    await start();
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      dir,
      async restart() {
        await as('pg_ctl', [
          '-D',
          data,
          '-l',
          join(dir, 'server.log'),
          '-m',
          'fast',
          '-w',
          '-t',
          '60',
          'restart',
        ]);
      },
      async pause() {
        await as('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      },
      async resume() {
        await start();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw new Error(
      `could not start a PostgreSQL test cluster (${bin ?? 'initdb on PATH'}): ${(error as Error).message}; install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL`,
      { cause: error },
    );
  }
}

function findBinDir(): string | undefined {
  if (process.env['PG_BIN']) return process.env['PG_BIN'];
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** A free TCP port on 127.0.0.1 (the tests' PgBouncer takes one too; not re-exported). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
