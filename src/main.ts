/**
 * `serve`: config → logger → service → listen, and an orderly stop on SIGTERM / SIGINT.
 * With WORKERS > 1 the primary only forks and supervises; each worker is a whole service.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { loadConfig, type Config } from './config.js';
import { loadKeys } from './keys.js';
import { createLogger, type Logger } from './logging.js';
import { createService } from './service.js';

/**
 * Socket timeouts. keepAliveTimeout stays above nginx's upstream keepalive_timeout (60 s in nginx/),
 * so nginx, not us, closes idle connections: otherwise nginx may reuse one we just closed and
 * answer its client with a 502. headersTimeout and requestTimeout bound slow clients.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish, then closes; forced after SHUTDOWN_TIMEOUT. */
  stop(): Promise<void>;
}

/** Starts one service on a socket. Used by `serve` and by tests that want a real port. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const service = createService(config, { logger });
  const { lifecycle } = service.deps;
  const server = service.app.listen({ host: config.host, port: config.port });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  await once(server, 'listening');
  lifecycle.ready = true;
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= new Promise<void>((resolve) => {
      lifecycle.shuttingDown = true;
      const force = setTimeout(() => {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing remaining connections');
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        service.close();
        resolve();
      });
      // Idle keep-alive connections would hold close() open; busy ones finish and then close,
      // since every answer now says Connection: close.
      server.closeIdleConnections();
    }));
  return { server, port, stop };
}

function onSignals(handler: (signal: NodeJS.Signals) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, handler);
}

async function runWorker(config: Config, logger: Logger): Promise<void> {
  const running = await startServer(config, logger);
  logger.info({ host: config.host, port: running.port, algorithm: config.jwt.algorithm, pid: process.pid }, 'listening');
  onSignals((signal) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    void running.stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  });
}

function runPrimary(config: Config, logger: Logger): void {
  logger.info({ workers: config.workers }, 'starting workers');
  let stopping = false;
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died: starting another');
    cluster.fork();
  });
  onSignals((signal) => {
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  });
}

/** Runs the service from the environment; exits 1 with every configuration problem listed. */
export async function serve(env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) {
    // Keys are checked here too, so bad keys stop the start instead of a fork-and-die loop.
    loadKeys(config.jwt);
    runPrimary(config, logger);
  }
  else await runWorker(config, logger);
}
