/**
 * A real Flask-style authenticator on 127.0.0.1 port 0, following the authenticator contract (README):
 * `POST /login` with the user's body → 200 + a JSON object describing the user, or an error whose
 * body is meant for the user. Every request is recorded; the answer can be replaced per test.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface StubAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | string[]>>;
  /** An object or array is sent as JSON with Content-Type application/json. */
  readonly body?: string | Buffer | object;
}

export type StubBehaviour = (request: RecordedRequest) => StubAnswer;

export interface StubAuthenticator {
  /** The login URL, for AUTHENTICATOR_URL. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Replaces the behaviour until `reset()`. */
  answer(behaviour: StubBehaviour): void;
  reset(): void;
  close(): Promise<void>;
}

export const ALICE = { username: 'alice', password: 'wonderland' } as const;
export const ALICE_USER = { sub: 'alice', name: 'Alice', roles: ['admin', 'editor'] } as const;

/** Reads username/password from a JSON or form body, like the Flask demo app. */
export function credentialsOf(request: RecordedRequest): { username?: unknown; password?: unknown } | undefined {
  const type = String(request.headers['content-type'] ?? '');
  try {
    if (type.includes('json')) return JSON.parse(request.body.toString('utf8')) as { username?: unknown; password?: unknown };
    if (type.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(request.body.toString('utf8')));
  } catch {
    return undefined;
  }
  return undefined;
}

/** The contract's default: alice/wonderland is good, wrong credentials 401 JSON, a bad request 400 text. */
export const contractBehaviour: StubBehaviour = (request) => {
  if (request.method !== 'POST' || request.url !== '/login') return { status: 404, body: { error: 'not found' } };
  const credentials = credentialsOf(request);
  if (typeof credentials?.username !== 'string' || typeof credentials.password !== 'string') {
    return { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'username and password are required' };
  }
  if (credentials.username === ALICE.username && credentials.password === ALICE.password) return { status: 200, body: ALICE_USER };
  return { status: 401, body: { error: 'invalid credentials' } };
};

export async function startStubAuthenticator(initial: StubBehaviour = contractBehaviour): Promise<StubAuthenticator> {
  const requests: RecordedRequest[] = [];
  let behaviour = initial;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      const { status, headers = {}, body = '' } = behaviour(recorded);
      const isJson = typeof body === 'object' && !Buffer.isBuffer(body);
      res.writeHead(status, { ...(isJson ? { 'content-type': 'application/json' } : {}), ...headers });
      res.end(isJson ? JSON.stringify(body) : body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/login`,
    requests,
    answer(next) {
      behaviour = next;
    },
    reset() {
      behaviour = initial;
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL where nothing listens: a port that was just bound and released. */
export async function refusedUrl(): Promise<string> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/login`;
}
