/**
 * The nginx-jwt-auth service, started two ways, both behind production's server
 * (src/http/server.ts createHttpServer: its limits and its answer to requests node's parser refuses):
 *
 * - startServiceProcess: a child process (`node dist/src/cli.js serve`), configured only through the
 *   environment, exactly as an operator runs it; for nginx in front of it, the benchmark, the demo.
 * - startServiceInProcess: createService in this process on 127.0.0.1 port 0, with every log line
 *   captured and the service object at hand; for the route and hardening tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config/index.js';
import { createHttpServer } from '../src/http/server.js';
import { createLogger } from '../src/logging.js';
import { createService, type Service, type ServiceOptions } from '../src/service.js';
import { REPO_ROOT, SERVICE_CLI } from './paths.js';
import { LOOPBACK, freePort } from './ports.js';
import { startProcess, waitForHttp, type ManagedProcess } from './process.js';

export interface ServiceProcess {
  /** Its base URL; with `socketPath`, requests must go through that socket (node's `socketPath` option). */
  readonly url: string;
  /** host:port, or unix:/path, for nginx's upstream. */
  readonly addr: string;
  /** SOCKET_PATH, when it listens on a unix socket. */
  readonly socketPath?: string;
  readonly port: number;
  readonly process: ManagedProcess;
  log(maxChars?: number): string;
  /** SIGTERM (the service's graceful shutdown), SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts the service with HOST=127.0.0.1, a free PORT and `env` on top of a clean environment
 * (the developer's own JWT_* variables must not leak in); resolves once GET /readyz is 200, or with
 * `waitFor: 'healthz'` once it answers at all (a service waiting for an identity provider's keys).
 * With SOCKET_PATH in `env` it listens on that unix socket instead.
 */
export async function startServiceProcess(
  env: Readonly<Record<string, string>>,
  {
    dir,
    waitFor = 'readyz',
    nodeArgs = [],
  }: { dir: string; waitFor?: 'readyz' | 'healthz'; /** node's own flags before the script (npm start's, for bench:rss). */ nodeArgs?: readonly string[] },
): Promise<ServiceProcess> {
  if (!existsSync(SERVICE_CLI)) throw new Error(`${SERVICE_CLI} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const proc = startProcess('nginx-jwt-auth', process.execPath, [...nodeArgs, SERVICE_CLI, 'serve'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env, HOST: LOOPBACK, PORT: String(port) },
    logFile: join(dir, `service-${port}.log`),
  });
  const url = `http://${LOOPBACK}:${port}`;
  const socketPath = env.SOCKET_PATH;
  await waitForHttp(proc, `${url}/${waitFor}`, { socketPath });
  return {
    url,
    addr: socketPath === undefined ? `${LOOPBACK}:${port}` : `unix:${socketPath}`,
    ...(socketPath === undefined ? {} : { socketPath }),
    port,
    process: proc,
    log: (maxChars) => proc.log(maxChars),
    async stop() {
      await proc.stop('SIGTERM', 5000);
    },
  };
}

export interface InProcessService {
  readonly port: number;
  readonly url: string;
  readonly config: Config;
  readonly service: Service;
  /** Every log line written so far, as written (JSON text). */
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * `serverOptions` replace production's (a shorter timeout, say); `keySource` the configuration's keys
 * (a source the test swaps); `remoteKeys` how identity providers' keys are fetched; `revocations`
 * the store chosen from the configuration (one that fails, say); everything else is as `serve` runs it.
 */
export async function startServiceInProcess(
  env: Readonly<Record<string, string | undefined>>,
  serverOptions: http.ServerOptions = {},
  { keySource, remoteKeys, revocations }: Pick<ServiceOptions, 'keySource' | 'remoteKeys' | 'revocations'> = {},
): Promise<InProcessService> {
  const config = loadConfig(env);
  const logs: string[] = [];
  const logger = createLogger(config.logging.level, { write: (line: string) => void logs.push(line) });
  const service = createService(config, { logger, defaultMetrics: false, keySource, remoteKeys, revocations });
  await service.start();
  const server = createHttpServer(service, serverOptions);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    config,
    service,
    logs,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.close();
    },
  };
}

/** node's flags in `npm start` ("node --flag … dist/src/cli.js serve"): what the shipped service runs with. */
export function npmStartNodeArgs(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = (scripts.start ?? '').trim().split(/\s+/);
  const script = words.indexOf('dist/src/cli.js');
  if (words[0] !== 'node' || script < 0) throw new Error(`package.json: npm start is not "node [flags] dist/src/cli.js serve": ${scripts.start}`);
  return words.slice(1, script);
}
