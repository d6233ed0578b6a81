/**
 * GET a JSON document (a JWK Set, a discovery document) from an identity provider, within bounds: a
 * whole-request timeout, a body size bound checked while the body streams in (a 10 MB answer is
 * cancelled at the bound, never buffered whole), TLS always verified (an extra CA may be added for a
 * private IdP), redirects followed only within the URL's own origin and only a few, no retries (the
 * caller owns backoff). Every failure is a KeySetFetchError with one of a few fixed results, which are
 * also the values of the fetch metric's label.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { MaxRedirectsError, RequestError, type Request } from 'got';
import { AnswerTooLargeError, readBoundedAnswer, type BoundedAnswer } from '../got-body-bound.js';
import { extendGot } from '../got-client.js';
import { VERSION } from '../version.js';
import { keySetUrlProblem } from './url.js';

/** How a fetch ended: the fixed values of jwt_auth_jwks_fetches_total{result}. */
export const FETCH_RESULTS = ['ok', 'http_error', 'redirect', 'timeout', 'too_large', 'tls', 'network', 'invalid', 'no_keys'] as const;
export type FetchResult = (typeof FETCH_RESULTS)[number];
export type FetchFailure = Exclude<FetchResult, 'ok'>;

export class KeySetFetchError extends Error {
  override readonly name = 'KeySetFetchError';
  constructor(
    readonly result: FetchFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface FetchOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Plain http:// to hosts other than loopback (src/jwks/url.ts). */
  readonly allowInsecureHttp: boolean;
  /** PEM certificate(s) trusted in addition to the system's roots, for an IdP with a private CA. */
  readonly caPem?: string | undefined;
}

export interface FetchedJson {
  readonly body: unknown;
  readonly headers: BoundedAnswer['headers'];
  /** The URL that answered, after same-origin redirects. */
  readonly url: string;
}

export interface JsonFetcher {
  /** @throws KeySetFetchError */
  get(url: string): Promise<FetchedJson>;
  /** Cancels fetches in flight and closes kept-alive connections. */
  close(): void;
}

/** Same-origin redirects (a trailing slash, a versioned path) are common enough to follow; a few at most. */
export const MAX_REDIRECTS = 3;

// A TLS verification failure is an operator's problem of a different kind than a refused connection.
const TLS_CODE = /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

function failureOf(error: unknown): KeySetFetchError {
  if (error instanceof KeySetFetchError) return error;
  if (error instanceof AnswerTooLargeError) return new KeySetFetchError('too_large', `the answer is larger than ${error.maxBytes} bytes`, { cause: error });
  if (error instanceof MaxRedirectsError) return new KeySetFetchError('redirect', `more than ${MAX_REDIRECTS} redirects`, { cause: error });
  if (error instanceof RequestError) {
    if (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT') return new KeySetFetchError('timeout', 'no complete answer in time', { cause: error });
    if (TLS_CODE.test(error.code)) return new KeySetFetchError('tls', `TLS: ${error.code} (${error.message})`, { cause: error });
    return new KeySetFetchError('network', `${error.code}: ${error.message}`, { cause: error });
  }
  return new KeySetFetchError('network', error instanceof Error ? error.message : String(error), { cause: error });
}

export function createJsonFetcher(options: FetchOptions): JsonFetcher {
  const agent = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const inFlight = new Set<Request>();
  const client = extendGot({
    agent,
    retry: { limit: 0 },
    timeout: { request: options.timeoutMs },
    throwHttpErrors: false,
    maxRedirects: MAX_REDIRECTS,
    // A redirect to another origin is answered as the 3xx it is and refused below: the configured
    // origin is the one trusted to publish keys, and a redirect must not move that trust.
    followRedirect: (response) => {
      const location = response.headers.location;
      if (location === undefined) return false;
      try {
        return new URL(location, response.url).origin === new URL(response.url).origin;
      } catch {
        return false;
      }
    },
    // Compressed answers would make the size bound a bound on compressed bytes only: we ask for none.
    decompress: false,
    https: {
      rejectUnauthorized: true,
      ...(options.caPem === undefined ? {} : { certificateAuthority: [...rootCertificates, options.caPem] }),
    },
    headers: { accept: 'application/jwk-set+json, application/json', 'accept-encoding': 'identity', 'user-agent': `nginx-jwt-auth/${VERSION}` },
  });

  return {
    async get(text) {
      const problem = keySetUrlProblem(text, options.allowInsecureHttp);
      if (problem !== undefined) throw new KeySetFetchError('invalid', problem);
      const url = new URL(text);
      const request = client.stream(url);
      inFlight.add(request);
      let response: BoundedAnswer;
      try {
        response = await readBoundedAnswer(request, options.maxBytes);
      } catch (error) {
        throw failureOf(error);
      } finally {
        inFlight.delete(request);
      }
      const { statusCode } = response;
      if (statusCode >= 300 && statusCode < 400) {
        const location = response.headers.location;
        let where = 'no Location';
        try {
          if (location !== undefined) where = new URL(location, response.url).origin;
        } catch {
          where = 'an invalid Location';
        }
        throw new KeySetFetchError('redirect', `status ${statusCode}: a redirect to ${where}, off ${new URL(response.url).origin}, is not followed`);
      }
      if (statusCode !== 200) throw new KeySetFetchError('http_error', `status ${statusCode}`);
      const encoding = response.headers['content-encoding']?.trim().toLowerCase();
      if (encoding !== undefined && encoding !== '' && encoding !== 'identity') throw new KeySetFetchError('invalid', `content-encoding ${encoding}`);
      let body: unknown;
      try {
        body = JSON.parse(response.body.toString('utf8'));
      } catch {
        throw new KeySetFetchError('invalid', 'the answer is not JSON');
      }
      return { body, headers: response.headers, url: response.url };
    },
    close() {
      for (const request of inFlight) request.destroy();
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
