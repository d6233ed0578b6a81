/**
 * Runs the service in-process on a real loopback socket: createService behind production's server
 * (src/http/server.ts: its limits and its answer to requests node's parser refuses) on 127.0.0.1
 * port 0, with every log line captured.
 */
import type http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../src/config/index.js';
import { createHttpServer } from '../src/http/server.js';
import { createLogger } from '../src/logging.js';
import { createService, type Service, type ServiceOptions } from '../src/service.js';

export interface RunningService {
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
 * (a source the test swaps); everything else is as `serve` runs it.
 */
export async function startService(
  env: Readonly<Record<string, string | undefined>>,
  serverOptions: http.ServerOptions = {},
  { keySource }: Pick<ServiceOptions, 'keySource'> = {},
): Promise<RunningService> {
  const config = loadConfig(env);
  const logs: string[] = [];
  const logger = createLogger(config.logging.level, { write: (line: string) => void logs.push(line) });
  const service = createService(config, { logger, defaultMetrics: false, keySource });
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
      service.close();
    },
  };
}
