/**
 * Shared fixtures for the hardening tests: the service in-process on a loopback socket, local stub
 * servers that count what they receive, and captured log lines. Everything is bounded in time.
 * Raw-socket requests and hand-made JWS come from the kit (support/raw-http.ts, support/jws.ts).
 */
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Service } from '../../src/service.js';
import { startServiceInProcess } from '../../support/service.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A JSON log line as pino wrote it. */
export type LogLine = Readonly<Record<string, unknown>>;

/** A 32-byte HMAC secret: the minimum the service accepts for HS256. */
export const SECRET = 'security-tests-secret-0123456789abcdef';

/** Seconds since the epoch. */
export { nowSeconds as now } from '../../support/jws.js';

// ---------------------------------------------------------------------------------------------------
// The service in-process

export interface App {
  readonly port: number;
  readonly url: string;
  readonly service: Service;
  readonly logs: LogLine[];
  close(): Promise<void>;
}

/** The shared in-process starter (support/in-process-service.ts) at level info, with log lines parsed. */
export async function startApp(env: Env, serverOptions: http.ServerOptions = {}): Promise<App> {
  const running = await startServiceInProcess({ ...env, LOG_LEVEL: 'info' }, serverOptions);
  return {
    port: running.port,
    url: running.url,
    service: running.service,
    get logs() {
      return running.logs.map((line) => JSON.parse(line) as LogLine);
    },
    close: () => running.close(),
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP clients

// The same one-connection, time-bounded client as the other suites.
export { request, type Reply, type RequestOptions } from '../../support/http.js';

// ---------------------------------------------------------------------------------------------------
// Local stub servers

export interface Stub {
  readonly port: number;
  readonly url: string;
  /** Requests (HTTP stubs) or connections (raw stubs) received so far. */
  readonly received: number;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 that counts requests and answers with `handler`. */
export async function startHttpStub(handler: http.RequestListener = (_req, res) => res.end()): Promise<Stub> {
  let received = 0;
  const server = http.createServer((req, res) => {
    received++;
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/login`,
    get received() {
      return received;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server on 127.0.0.1:0 that hands every connection to `onSocket` and destroys them on close. */
export async function startRawStub(onSocket: (socket: net.Socket) => void): Promise<Stub> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    received++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/login`,
    get received() {
      return received;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves after `ms`, without keeping the process alive past it. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// Assertions helpers

/** True when a JWT-looking string (`eyJ…`) appears anywhere in the text. */
export function containsToken(text: string): boolean {
  return /eyJ[A-Za-z0-9_-]{4,}/.test(text);
}
