/**
 * A real redis-server (Debian's, /usr/bin/redis-server or REDIS_SERVER_BIN) on a free loopback port,
 * with its own folder, for the tests that share state through Redis. `stop()` and `start()` restart
 * it on the same port mid-test, as an operator's restart or a crash (`stop('SIGKILL')`) would.
 *
 * By default it keeps nothing on disk (`save ""`, no AOF): a restart comes back empty, the hardest case
 * for the service, which must put back what Redis forgot. `persistence: true` turns on the append-only
 * file, so a restart comes back with its data.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isExecutable } from './nginx.js';
import { LOOPBACK, freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';

export interface RedisServerOptions {
  /** A folder of ours; `redis-<port>` is created inside it for the server's files and log. */
  readonly dir: string;
  /** Keep data across `stop()`/`start()` (appendonly yes). */
  readonly persistence?: boolean;
  /** A password (`requirepass`); the URL then carries it. */
  readonly password?: string;
  /** More redis-server arguments (`--cluster-enabled yes`, say). */
  readonly extraArgs?: readonly string[];
}

export interface RedisServer {
  /** redis://[:password@]127.0.0.1:port/0 */
  readonly url: string;
  readonly port: number;
  /** The running process, or undefined while stopped. */
  readonly process: ManagedProcess | undefined;
  log(maxChars?: number): string;
  /** Starts it again on the same port (after `stop()`); resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGTERM (SIGKILL for a crash), then waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The redis-server to run, or undefined when there is none. */
export function findRedisServer(): string | undefined {
  const named = process.env.REDIS_SERVER_BIN;
  if (named !== undefined && named !== '') return isExecutable(named) ? named : undefined;
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/bin', '/usr/local/bin')) {
    const candidate = join(dir, 'redis-server');
    if (dir !== '' && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Why the redis-server found cannot run, or undefined. */
export function redisServerProblem(): string | undefined {
  const bin = findRedisServer();
  if (bin === undefined) return undefined;
  const result = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return result.status === 0 ? undefined : `${bin} --version failed: ${(result.stderr || result.error?.message || '').trim()}`;
}

/** A client for assertions on what is stored (closed by the caller with `quit()`); fails fast, never retries. */
export function redisClient(url: string): Redis {
  return new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2000 });
}

async function answersPing(url: string): Promise<boolean> {
  const client = redisClient(url);
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const bin = findRedisServer();
  if (bin === undefined) throw new Error('no redis-server: apt-get install -y redis-server, or set REDIS_SERVER_BIN');
  const port = await freePort();
  const dir = join(options.dir, `redis-${port}`);
  const logFile = join(options.dir, `redis-${port}.log`);
  mkdirSync(dir, { recursive: true });
  const args = [
    '--bind',
    LOOPBACK,
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistence ? 'yes' : 'no',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.extraArgs ?? []),
  ];
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  const url = `redis://${auth}${LOOPBACK}:${port}/0`;
  let proc: ManagedProcess | undefined;

  const start = async (): Promise<void> => {
    if (proc !== undefined && !proc.hasExited()) return;
    const started = startProcess('redis-server', bin, args, { env: { PATH: process.env.PATH ?? '' }, logFile });
    proc = started;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (started.hasExited()) throw new Error(`redis-server exited before answering on port ${port}\n${started.log()}`);
      if (await answersPing(url)) return;
      if (Date.now() > deadline) {
        await started.stop('SIGKILL');
        throw new Error(`redis-server did not answer PING on port ${port} within 15 s\n${started.log()}`);
      }
      await delay(25);
    }
  };
  await start();

  return {
    url,
    port,
    get process() {
      return proc !== undefined && !proc.hasExited() ? proc : undefined;
    },
    log: (maxChars) => proc?.log(maxChars) ?? '',
    start,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await proc?.stop(signal, 5000);
    },
  };
}
