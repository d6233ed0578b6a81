/**
 * An identity provider's key server on loopback whose every answer the test scripts: the JWK Set
 * (`/jwks`), the OpenID discovery document (`/.well-known/openid-configuration`, naming this server
 * as issuer and `/jwks` as jwks_uri unless replaced), status, Cache-Control, delays, redirects,
 * garbage, a huge body streamed with backpressure, and going down and up again on the same port.
 * Every request is counted by path. Plain http by default, https with `tls` (support/tls.ts).
 */
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export const JWKS_PATH = '/jwks';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

export interface ScriptedAnswer {
  /** Default 200. */
  readonly status?: number;
  /** Served as `{"keys": [...]}` unless `body` is given. */
  readonly keys?: readonly object[];
  /** An object is sent as JSON; a string or Buffer as it is. */
  readonly body?: string | Buffer | object;
  readonly cacheControl?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Waits this long before answering (the client may time out and go away meanwhile). */
  readonly delayMs?: number;
  /** Answers 302 with this Location (relative to this server, or absolute). */
  readonly redirect?: string;
  /** Streams a JSON-looking body of this many bytes, written as fast as the client reads it. */
  readonly hugeBytes?: number;
  /** With `hugeBytes`: send Content-Length up front (a client can refuse before reading); chunked otherwise. */
  readonly declareLength?: boolean;
  /** Destroys the connection without an answer. */
  readonly reset?: boolean;
}

export type Script = ScriptedAnswer | ((request: IncomingMessage) => ScriptedAnswer);

export interface JwksServerOptions {
  readonly keys?: readonly object[];
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Host name in the URLs (default 127.0.0.1; `localhost` for a certificate issued to it). */
  readonly host?: string;
}

export interface JwksServer {
  /** The origin, which is also the issuer its discovery document names. */
  readonly origin: string;
  readonly issuer: string;
  readonly jwksUrl: string;
  /** Requests received per path (without query), answered or not. */
  count(path?: string): number;
  /** Huge bodies written to the end (a client that cancelled leaves it at 0). */
  readonly hugeBodiesCompleted: number;
  /** Bytes of huge bodies written so far. */
  readonly hugeBytesWritten: number;
  /** The answer of `/jwks` from now on. */
  answer(script: Script): void;
  /** The keys `/jwks` serves, with status 200 and no other scripting. */
  serveKeys(keys: readonly object[], cacheControl?: string): void;
  /** The answer of the discovery document from now on. */
  answerDiscovery(script: Script): void;
  /** The answer for any other path, e.g. a redirect target. */
  route(path: string, script: Script): void;
  /** Stops listening and drops connections: fetches are refused. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startJwksServer(options: JwksServerOptions = {}): Promise<JwksServer> {
  const host = options.host ?? '127.0.0.1';
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let hugeBodiesCompleted = 0;
  let hugeBytesWritten = 0;
  let jwksScript: Script = { keys: options.keys ?? [] };
  let discoveryScript: Script | undefined;
  const routes = new Map<string, Script>();
  let origin = '';

  const defaultDiscovery = (): ScriptedAnswer => ({ body: { issuer: origin, jwks_uri: `${origin}${JWKS_PATH}` } });

  async function writeHuge(res: ServerResponse, bytes: number, declareLength: boolean): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(bytes) } : {}) });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let left = bytes;
    while (left > 0 && !res.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      hugeBytesWritten += piece.length;
      if (!res.write(piece)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    if (!res.destroyed) {
      res.end();
      hugeBodiesCompleted++;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const script = path === JWKS_PATH ? jwksScript : path === DISCOVERY_PATH ? (discoveryScript ?? defaultDiscovery()) : routes.get(path);
    if (script === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const answer = typeof script === 'function' ? script(req) : script;
    if (answer.delayMs !== undefined) await sleep(answer.delayMs);
    if (res.destroyed) return;
    if (answer.reset) {
      req.socket.destroy();
      return;
    }
    if (answer.redirect !== undefined) {
      res.writeHead(302, { location: answer.redirect }).end();
      return;
    }
    if (answer.hugeBytes !== undefined) return writeHuge(res, answer.hugeBytes, answer.declareLength ?? false);
    const body = answer.body ?? { keys: answer.keys ?? [] };
    const isJson = typeof body === 'object' && !Buffer.isBuffer(body);
    res.writeHead(answer.status ?? 200, {
      ...(isJson ? { 'content-type': 'application/json' } : {}),
      ...(answer.cacheControl === undefined ? {} : { 'cache-control': answer.cacheControl }),
      ...answer.headers,
    });
    res.end(isJson ? JSON.stringify(body) : body);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => res.destroy());
  };
  const server = options.tls === undefined ? http.createServer(listener) : https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  let port = 0;
  const listen = async (): Promise<void> => {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  };
  const stop = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await listen();
  origin = `${options.tls === undefined ? 'http' : 'https'}://${host}:${port}`;

  return {
    origin,
    issuer: origin,
    jwksUrl: `${origin}${JWKS_PATH}`,
    count: (path = JWKS_PATH) => counts.get(path) ?? 0,
    get hugeBodiesCompleted() {
      return hugeBodiesCompleted;
    },
    get hugeBytesWritten() {
      return hugeBytesWritten;
    },
    answer(script) {
      jwksScript = script;
    },
    serveKeys(keys, cacheControl) {
      jwksScript = cacheControl === undefined ? { keys } : { keys, cacheControl };
    },
    answerDiscovery(script) {
      discoveryScript = script;
    },
    route(path, script) {
      routes.set(path, script);
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
