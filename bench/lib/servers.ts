/**
 * The benchmark's own loopback servers (bench/servers/*.ts) as child processes
 * started through the test kit (support/process.ts), each with a free port and a log file in the run's folder.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, LOOPBACK } from '../../support/ports.js';
import { startProcess, waitForHttp, type ManagedProcess } from '../../support/process.js';

const SERVERS_DIR = fileURLToPath(new URL('../servers/', import.meta.url));

export interface NodeServer {
  readonly name: string;
  readonly addr: string;
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Starts dist/bench/servers/<script>.js; resolves once `probePath` answers `probeStatus`.
 */
export async function startBenchServer(
  script: 'upstream' | 'reference' | 'authenticator',
  { dir, env = {}, probePath, probeStatus }: { dir: string; env?: Readonly<Record<string, string>>; probePath: string; probeStatus: number },
): Promise<NodeServer> {
  const port = await freePort();
  const proc = startProcess(script, process.execPath, [join(SERVERS_DIR, `${script}.js`)], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    logFile: join(dir, `${script}-${port}.log`),
  });
  const url = `http://${LOOPBACK}:${port}`;
  await waitForHttp(proc, `${url}${probePath}`, { status: probeStatus });
  return { name: script, addr: `${LOOPBACK}:${port}`, url, process: proc, stop: async () => void (await proc.stop('SIGTERM', 5000)) };
}
