import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../src/testing/cluster.js';

const run = promisify(execFile);

/** PgBouncer's pool modes: when a server connection goes back to the pool. */
export type PoolMode = 'session' | 'transaction' | 'statement';

export interface PgBouncerOptions {
  /** The server PgBouncer connects to (the test cluster's URL, trust authentication). */
  target: string;
  poolMode: PoolMode;
  /** Server connections per database and user: small, so that clients really share backends. */
  poolSize: number;
  /**
   * Startup parameters PgBouncer drops instead of refusing the client (`ignore_startup_parameters`):
   * default `statement_timeout`, which pg sends when the store sets `statementTimeoutMs` and
   * which PgBouncer 1.18 otherwise refuses, as most hosted poolers are configured to.
   */
  ignoreStartupParameters?: string[];
  /** More `[pgbouncer]` settings, such as `query_wait_timeout = 5`. */
  settings?: string[];
}

/** A PgBouncer started for a test, on 127.0.0.1 and a free port; `stop()` ends it. */
export interface PgBouncer {
  /** The target's URL with PgBouncer's host and port. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PgBouncer (Debian's `pgbouncer`, see scripts/system-deps.sh) in front of
 * the test cluster: its own ini and userlist in a temporary folder, listening on 127.0.0.1 only.
 * PgBouncer refuses to run as root: as root it runs as `postgres`, as the test cluster does.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const target = new URL(options.target);
  const dir = await mkdtemp(join(tmpdir(), 'checkpointkit-pgbouncer-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(uid.trim()), Number(gid.trim()));
  }
  const port = await freePort();
  const database = target.pathname.slice(1) || 'postgres';
  const user = decodeURIComponent(target.username) || 'postgres';
  const ignore = options.ignoreStartupParameters ?? ['statement_timeout'];
  const settings = [
    '[databases]',
    // auth_type any needs the server-side user named here.
    `${database} = host=${target.hostname} port=${target.port} dbname=${database} user=${user}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    // No unix socket: nothing but the TCP port on 127.0.0.1.
    "unix_socket_dir = ''",
    'auth_type = any',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    `pool_mode = ${options.poolMode}`,
    `default_pool_size = ${options.poolSize}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    'max_client_conn = 500',
    `ignore_startup_parameters = ${ignore.join(',') || 'extra_float_digits'}`,
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    ...(options.settings ?? []),
    '',
  ].join('\n');
  await writeFile(join(dir, 'pgbouncer.ini'), settings, { mode: 0o644 });
  await writeFile(join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });
  const ini = join(dir, 'pgbouncer.ini');
  let stderr = '';
  const [file, args] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', binary(), ini]]
    : [binary(), [ini]];
  const child = spawn(file, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  child.on('error', (error) => {
    stderr += `${error.message} (install PgBouncer: scripts/system-deps.sh)`;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  // Ready once it accepts a connection (bounded by tries, not by a clock in the test).
  for (let tries = 0; ; tries++) {
    if (ended || tries > 200) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start: ${stderr}`);
    }
    if (await accepts(port)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = new URL(options.target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async stop() {
      if (!ended) {
        // SIGTERM: immediate shutdown (SIGINT would wait for clients to leave).
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** PGBOUNCER, else Debian's /usr/sbin/pgbouncer (not on a non-root user's PATH), else PATH's. */
function binary(): string {
  const given = process.env['PGBOUNCER'];
  if (given) return given;
  return existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer';
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
