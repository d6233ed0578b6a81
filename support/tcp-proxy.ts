/**
 * A TCP relay on a loopback port in front of another server, which a test can cut and restore: one
 * instance loses its Redis while the others keep theirs (a network partition, not a Redis outage).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { LOOPBACK, freePort } from './ports.js';

export interface TcpProxy {
  readonly port: number;
  /** Closes every relayed connection and refuses new ones until `restore()`. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  /**
   * From now on, a relayed connection whose client sends `text` is closed instead of relayed: a
   * connection lost at one exact step of a protocol (undefined: relay everything again).
   */
  cutWhenClientSends(text: string | undefined): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let cutOn: string | undefined;
  const listen = async (): Promise<void> => {
    const listening = createServer((client) => {
      const upstream = createConnection({ host: LOOPBACK, port: targetPort });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => {
        if (cutOn !== undefined && chunk.includes(cutOn)) {
          client.destroy();
          upstream.destroy();
        } else upstream.write(chunk);
      });
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    listening.listen(port, LOOPBACK);
    await once(listening, 'listening');
    server = listening;
  };
  const cut = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing !== undefined) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await listen();
  return { port, cut, restore: listen, stop: cut, cutWhenClientSends: (text) => void (cutOn = text) };
}
