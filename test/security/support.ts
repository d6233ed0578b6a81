/**
 * Shared fixtures for the hardening tests: the service in-process on a loopback socket, a raw-socket
 * HTTP client (for requests node's client refuses to send), local stub servers that count what they
 * receive, hand-made JWS, and captured log lines. Everything is bounded in time.
 */
import { constants, createHmac, sign, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from '../../src/service.js';
import { startServiceInProcess } from '../../support/service.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A JSON log line as pino wrote it. */
export type LogLine = Readonly<Record<string, unknown>>;

/** A 32-byte HMAC secret: the minimum the service accepts for HS256. */
export const SECRET = 'security-tests-secret-0123456789abcdef';

/** Seconds since the epoch. */
export const now = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------------
// Temp files

export interface TempDir {
  readonly path: string;
  write(name: string, content: string): string;
  remove(): void;
}

export function tempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'jwt-auth-security-'));
  return {
    path,
    write(name, content) {
      const file = join(path, name);
      writeFileSync(file, content, { mode: 0o600 });
      return file;
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

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
export { request, type Reply, type RequestOptions } from '../../support/http-client.js';

export interface RawReply {
  /** 0 when the server closed the connection without answering. */
  readonly status: number;
  readonly head: string;
  readonly body: string;
  /** Everything the server sent, as latin1. */
  readonly raw: string;
}

/**
 * Writes `data` as it is on a new connection and reads until the server closes it (or `timeoutMs`).
 * The caller sends `Connection: close`. Only the first response is parsed.
 */
export function rawRequest(port: number, data: string | Buffer, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw request: connection still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(data));
    socket.on('data', (chunk) => chunks.push(chunk));
    // A reset after the answer (the server closing while we still write) is not a failure.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseRaw(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

export function parseRaw(raw: string): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1];
  return { status: status === undefined ? 0 : Number(status), head, body: end < 0 ? '' : raw.slice(end + 4), raw };
}

/** The values of header `name` in a raw response head. */
export function rawHeader(reply: RawReply, name: string): string[] {
  return reply.head
    .split('\r\n')
    .slice(1)
    .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((line) => line.slice(name.length + 1).trim());
}

/** A `GET /check` with the given extra header lines, as raw text. */
export function rawCheck(headerLines: readonly string[], path = '/check'): string {
  return [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headerLines, 'Connection: close', '', ''].join('\r\n');
}

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
// Hand-made JWS (RFC 7515 compact serialisation)

export function b64url(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('base64url');
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

export type SigningMaterial = KeyObject | string | Buffer;

const HASH: Readonly<Record<string, string>> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** The signature of `input` under `alg` (the algorithm the caller claims, whatever the key). */
export function signInput(alg: string, input: string, key: SigningMaterial): Buffer {
  const hash = HASH[alg.slice(2)] ?? 'sha256';
  if (alg.startsWith('HS')) return createHmac(hash, key as string | Buffer).update(input).digest();
  if (alg.startsWith('RS')) return sign(hash, Buffer.from(input), key as KeyObject);
  if (alg.startsWith('PS')) return sign(hash, Buffer.from(input), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  if (alg.startsWith('ES')) return sign(hash, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  if (alg === 'EdDSA') return sign(null, Buffer.from(input), key as KeyObject);
  throw new Error(`signInput: unsupported alg ${alg}`);
}

/**
 * Signs already-encoded segments exactly as given, so a test can make a token whose signature is
 * valid over a non-canonical encoding, duplicate keys or invalid UTF-8.
 */
export function signSegments(alg: string, headerSegment: string, payloadSegment: string, key: SigningMaterial): string {
  const input = `${headerSegment}.${payloadSegment}`;
  return `${input}.${signInput(alg, input, key).toString('base64url')}`;
}

/** Signs a header and payload object (or raw JSON text) with the algorithm the header names. */
export function signJws(header: Readonly<Record<string, unknown>> | string, payload: Readonly<Record<string, unknown>> | string | Buffer, key: SigningMaterial): string {
  const alg = typeof header === 'string' ? String((JSON.parse(header) as { alg?: unknown }).alg) : String(header.alg);
  return signSegments(alg, b64url(header), b64url(payload), key);
}

// ---------------------------------------------------------------------------------------------------
// Assertions helpers

/** True when a JWT-looking string (`eyJ…`) appears anywhere in the text. */
export function containsToken(text: string): boolean {
  return /eyJ[A-Za-z0-9_-]{4,}/.test(text);
}
