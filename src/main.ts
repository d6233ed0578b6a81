/**
 * `serve`: config → logger → service → listen, and an orderly stop on SIGTERM / SIGINT.
 * With WORKERS > 1 the primary only forks and supervises; each worker is a whole service.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { RateLimiterClusterMaster } from 'rate-limiter-flexible';
import { loadConfig, type Config } from './config/index.js';
import { loadKeys } from './keys.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './logging.js';
import { startRevocationHub } from './revocation/cluster.js';
import { createService } from './service.js';

/** A start that cannot go on (the port is taken, the host does not resolve): one line for the operator, no stack. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'no such address on this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed, try again',
  EAI_FAIL: 'host name lookup failed',
};

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code === undefined ? undefined : REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
}

/**
 * A socket file left by a service that did not stop cleanly makes listen fail with EADDRINUSE. It is
 * removed only when nothing answers on it: a second instance must not take over a running one's path.
 */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!lstatSync(path).isSocket()) return;
  } catch {
    return;
  }
  const answered = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!answered) unlinkSync(path);
}

/** While draining, how often connections that have gone idle are closed. */
const IDLE_SWEEP_MS = 100;

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish, then closes; forced after SHUTDOWN_TIMEOUT. */
  stop(): Promise<void>;
  /** Reads the key files again; the old keys stay unless the new ones pass every check. */
  reloadKeys(): void;
}

/** Starts one service on a socket. Used by `serve` and by tests that want a real port. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const service = createService(config, { logger });
  const { lifecycle } = service.deps;
  // Before listening: the revocations stored in Redis (or held by the cluster primary) are loaded
  // first, so a fresh instance does not allow what the others deny. Bounded: Redis may be down.
  // Identity providers' keys are fetched from here on; /readyz waits for them.
  await service.start();
  const server = createHttpServer(service);
  const { socketPath } = config.server;
  // With WORKERS > 1 the primary did this before forking (workers share its socket).
  if (socketPath !== undefined && cluster.isPrimary) await removeStaleSocket(socketPath);
  server.listen(socketPath !== undefined ? { path: socketPath } : { host: config.server.host, port: config.server.port });
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new StartupError(`cannot listen on ${socketPath ?? `${config.server.host}:${config.server.port}`}: ${reasonOf(error)}`);
  }
  // nginx's workers run as another user. Like a loopback port, the socket itself is open to every
  // local user; who may reach it is decided by the permissions of its folder.
  if (socketPath !== undefined) chmodSync(socketPath, 0o666);
  lifecycle.ready = true;
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.server.port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= new Promise<void>((resolve) => {
      lifecycle.shuttingDown = true;
      const force = setTimeout(() => {
        logger.warn({ timeoutMs: config.server.shutdownTimeoutMs }, 'shutdown timeout: closing remaining connections');
        server.closeAllConnections();
      }, config.server.shutdownTimeoutMs);
      force.unref();
      // Idle keep-alive connections would hold close() open. Answers to requests that arrive now say
      // Connection: close; a request already in flight gets a keep-alive answer and its connection then
      // goes idle, where nginx would keep it for its keepalive_timeout: so idle ones are swept until done.
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      server.close(() => {
        clearTimeout(force);
        clearInterval(sweep);
        void service.close().finally(resolve);
      });
      server.closeIdleConnections();
    }));
  return { server, port, stop, reloadKeys: () => void service.reloadKeys(process.env) };
}

/**
 * Runs `handler` on the first SIGTERM or SIGINT and only logs the ones after it. A terminal's Ctrl-C,
 * `npm start` and systemd's KillMode=control-group signal every process in the group, and a cluster
 * primary passes the signal on too, so a process often gets two: with node's default action for the
 * second, it would die mid-drain. The drain is bounded by SHUTDOWN_TIMEOUT; SIGKILL still works.
 */
function onSignals(logger: Logger, handler: (signal: NodeJS.Signals) => void): void {
  let first: NodeJS.Signals | undefined;
  const listener = (signal: NodeJS.Signals): void => {
    if (first !== undefined) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    first = signal;
    handler(signal);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, listener);
}

async function runWorker(config: Config, logger: Logger): Promise<void> {
  const running = await startServer(config, logger);
  // Like nginx -s reload for the key files: rotate keys without dropping a request.
  process.on('SIGHUP', () => running.reloadKeys());
  // Handlers first: whoever reads "listening" may signal at once, and a SIGTERM that arrives before
  // process.on() has run takes the default action (the process dies with the signal, exit code lost).
  onSignals(logger, (signal) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    void running.stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  });
  const where = config.server.socketPath !== undefined ? { socket: config.server.socketPath } : { host: config.server.host, port: running.port };
  logger.info({ ...where, algorithm: config.jwt.algorithm, pid: process.pid }, 'listening');
}

async function runPrimary(config: Config, logger: Logger): Promise<void> {
  if (config.server.socketPath !== undefined) await removeStaleSocket(config.server.socketPath);
  logger.info({ workers: config.server.workers }, 'starting workers');
  // Without Redis, the workers share their login failure counts (src/login/limiter.ts) and their
  // revocations through this process; both listen before the first worker asks.
  if (config.redis.topology === undefined) {
    new RateLimiterClusterMaster();
    startRevocationHub(logger);
  }
  let stopping = false;
  for (let i = 0; i < config.server.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died: starting another');
    cluster.fork();
  });
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading key files in every worker');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  onSignals(logger, (signal) => {
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  });
}

/** Runs the service from the environment; exits 1 with every configuration problem listed. */
export async function serve(env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger(config.logging.level);
  if (config.server.workers > 1 && cluster.isPrimary) {
    // Keys are checked here too, so bad keys stop the start instead of a fork-and-die loop.
    loadKeys(config.jwt);
    await runPrimary(config, logger);
  } else await runWorker(config, logger);
}
