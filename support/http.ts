/**
 * HTTP clients over node:http for tests, bench and scripts: one connection per request (nothing left
 * open), exact headers, a hard time bound. Two answer shapes, for two kinds of test:
 *
 * - httpRequest: through nginx (the stack's request()): the body as bytes, json() that names the
 *   body when it is not JSON, the body framed with Content-Length whatever the method.
 * - request: straight to the service (route and hardening tests): the body as text, the raw header
 *   lines, repeated headers sent as separate lines.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  /** The body parsed as JSON; throws with the body in the message when it is not JSON. */
  json<T = Record<string, unknown>>(): T;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  timeoutMs?: number;
}

/** Sends one request and reads the whole answer; rejects on network errors and timeouts. */
export function httpRequest(url: string, { method = 'GET', headers = {}, body, timeoutMs = 10_000 }: HttpRequestOptions = {}): Promise<HttpResponse> {
  // Node sends a DELETE/GET body with neither Content-Length nor chunked framing unless told.
  const framed: OutgoingHttpHeaders =
    body === undefined || Object.keys(headers).some((name) => /^(content-length|transfer-encoding)$/i.test(name))
      ? headers
      : { ...headers, 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: framed, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: bytes,
          text: () => bytes.toString('utf8'),
          json<T>(): T {
            try {
              return JSON.parse(bytes.toString('utf8')) as T;
            } catch {
              throw new Error(`${method} ${url}: expected JSON, got ${res.statusCode}: ${bytes.toString('utf8').slice(0, 500)}`);
            }
          },
        });
      });
    });
    req.once('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end(body);
  });
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  /** An array value is sent as one header line per element. */
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  readonly timeoutMs?: number;
}

export function request(url: string, { method = 'GET', headers = {}, body, timeoutMs = 5000 }: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** JSON.parse of a reply body, typed loosely for assertions. */
export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body) as Record<string, unknown>;
}

/** The value of every Set-Cookie line. */
export function setCookies(reply: Reply): string[] {
  const value = reply.headers['set-cookie'];
  return value === undefined ? [] : value;
}

/**
 * What a browser keeps of Set-Cookie, for the one cookie a test follows: the last value set wins, and
 * Max-Age=0 removes it. Enough to follow the token cookie through login, renewal and logout; not a
 * general cookie store (no paths, domains or expiry clock).
 */
export class CookieJar {
  #value: string | undefined;

  constructor(readonly name: string) {}

  /** The cookie's current value, or undefined. */
  get value(): string | undefined {
    return this.#value;
  }

  /** Takes the answer's Set-Cookie lines for this cookie; returns the values it set, in order. */
  take(headers: IncomingHttpHeaders): string[] {
    const set: string[] = [];
    for (const line of headers['set-cookie'] ?? []) {
      const [pair = '', ...attributes] = line.split(/;\s*/);
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq) !== this.name) continue;
      const value = pair.slice(eq + 1);
      const removed = attributes.some((attribute) => /^max-age=0$/i.test(attribute)) || value === '';
      this.#value = removed ? undefined : value;
      set.push(value);
    }
    return set;
  }

  /** The Cookie request header a browser would send, or {} without the cookie. */
  header(): Record<string, string> {
    return this.#value === undefined ? {} : { cookie: `${this.name}=${this.#value}` };
  }
}
