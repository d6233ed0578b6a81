/** A plain HTTP client for the tests: one connection per request, exact headers, bounded time. */
import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

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
    const req = request(url, { method, headers: framed, agent: false, timeout: timeoutMs }, (res) => {
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
