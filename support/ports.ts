/**
 * Free TCP ports on the loopback interface, for servers that must be told their port up front
 * (nginx's `listen`, the service's PORT, the authenticator's --port).
 */
import { createServer, type Server } from 'node:net';

export const LOOPBACK = '127.0.0.1';

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Returns `count` distinct ports the kernel just handed out on 127.0.0.1. All are held open
 * together before being released, so they differ from each other; another process could still
 * take one before its user binds it, which the start helpers report as a failed start.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listenOnAnyPort());
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** One free loopback port. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  return port;
}
