/**
 * The nginx-jwt-auth service as a child process (`node dist/src/cli.js serve`), configured only
 * through the environment, exactly as an operator runs it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, SERVICE_CLI } from './paths.js';
import { LOOPBACK, freePort } from './ports.js';
import { startProcess, waitForHttp, type ManagedProcess } from './process.js';

export interface ServiceInstance {
  readonly url: string;
  /** host:port, for nginx's upstream. */
  readonly addr: string;
  readonly port: number;
  readonly process: ManagedProcess;
  log(maxChars?: number): string;
  /** SIGTERM (the service's graceful shutdown), SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts the service with HOST=127.0.0.1, a free PORT and `env` on top of a clean environment
 * (the developer's own JWT_* variables must not leak in); resolves once GET /readyz is 200.
 */
export async function startService(env: Readonly<Record<string, string>>, { dir }: { dir: string }): Promise<ServiceInstance> {
  if (!existsSync(SERVICE_CLI)) throw new Error(`${SERVICE_CLI} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const proc = startProcess('nginx-jwt-auth', process.execPath, [SERVICE_CLI, 'serve'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env, HOST: LOOPBACK, PORT: String(port) },
    logFile: join(dir, `service-${port}.log`),
  });
  const url = `http://${LOOPBACK}:${port}`;
  await waitForHttp(proc, `${url}/readyz`);
  return {
    url,
    addr: `${LOOPBACK}:${port}`,
    port,
    process: proc,
    log: (maxChars) => proc.log(maxChars),
    async stop() {
      await proc.stop('SIGTERM', 5000);
    },
  };
}
