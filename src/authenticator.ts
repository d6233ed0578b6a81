/**
 * The client for the existing, Flask-style login application: POST the login body (parsed and
 * re-serialized by login/body.ts), read a bounded answer, and map every failure to one of our codes.
 * got's errors stop here.
 */
import http from 'node:http';
import https from 'node:https';
import { RequestError } from 'got';
import { AnswerTooLargeError, readBoundedAnswer, type BoundedAnswer } from './got-body-bound.js';
import { extendGot } from './got-client.js';
import type { Config } from './config/index.js';
import { AppError } from './errors.js';

export interface LoginRequest {
  readonly body: Buffer;
  readonly contentType: string;
  readonly requestId: string;
  readonly clientAddress: string;
}

export type AuthenticatorAnswer =
  /** 200 and a JSON object: the credentials are good and this describes the user. */
  | { readonly kind: 'user'; readonly user: Readonly<Record<string, unknown>>; readonly setCookie: readonly string[] }
  /** A 4xx: the credentials are not good; passed to the user as it is. */
  | {
      readonly kind: 'rejected';
      readonly status: number;
      readonly body: Buffer;
      readonly contentType: string | undefined;
      readonly setCookie: readonly string[];
    };

export interface AuthenticatorClient {
  /** @throws AppError authenticator_unavailable / authenticator_timeout / authenticator_bad_response. */
  login(request: LoginRequest): Promise<AuthenticatorAnswer>;
  close(): void;
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

function mapError(error: unknown): AppError {
  if (error instanceof AnswerTooLargeError) return new AppError('authenticator_bad_response', 'answer too large', { cause: error });
  if (error instanceof RequestError) {
    if (error.code === 'ETIMEDOUT' || error.name === 'TimeoutError') return new AppError('authenticator_timeout', 'no answer in time', { cause: error });
    if (CONNECTION_ERRORS.has(error.code)) return new AppError('authenticator_unavailable', error.code, { cause: error });
    return new AppError('authenticator_bad_response', error.code, { cause: error });
  }
  return new AppError('authenticator_unavailable', 'request failed', { cause: error });
}

function parseUser(response: BoundedAnswer): Readonly<Record<string, unknown>> {
  let user: unknown;
  try {
    user = JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new AppError('authenticator_bad_response', 'answer is not JSON');
  }
  if (user === null || typeof user !== 'object' || Array.isArray(user)) throw new AppError('authenticator_bad_response', 'answer is not a JSON object');
  return user as Record<string, unknown>;
}

export function createAuthenticatorClient(options: Config['authenticator']): AuthenticatorClient {
  // Keep-alive: a login should not pay a TCP handshake to a neighbour on every attempt.
  const agent = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const client = extendGot({
    method: 'POST',
    agent,
    // A login must never be sent twice: the authenticator may count failed attempts.
    retry: { limit: 0 },
    timeout: { request: options.timeoutMs },
    followRedirect: false,
    throwHttpErrors: false,
    // Compressed answers would make the size bound meaningless, so we ask for none and read bytes.
    decompress: false,
  });

  return {
    async login({ body, contentType, requestId, clientAddress }) {
      // The stream API, not the promise one: its wrapper (p-cancelable, progress events, its own
      // body buffering) cost ~100 µs of the ~800 µs of service CPU a login took (BENCHMARKS.md, /login).
      const request = client.stream(options.url, {
        body,
        headers: {
          accept: 'application/json',
          'accept-encoding': 'identity',
          'x-request-id': requestId,
          'x-forwarded-for': clientAddress,
          'content-type': contentType,
        },
      });
      let response: BoundedAnswer;
      try {
        response = await readBoundedAnswer(request, options.maxResponseBytes);
      } catch (error) {
        throw mapError(error);
      }
      const { statusCode } = response;
      // We asked for identity; a compressed body would be unreadable JSON, and passing it on without its
      // Content-Encoding would hand the user garbage. RFC 9110 §8.4.1.
      const encoding = response.headers['content-encoding']?.trim().toLowerCase();
      if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
        throw new AppError('authenticator_bad_response', `content-encoding ${encoding}`);
      }
      const setCookie = response.headers['set-cookie'] ?? [];
      if (statusCode === 200) return { kind: 'user', user: parseUser(response), setCookie };
      if (statusCode >= 400 && statusCode < 500) {
        return { kind: 'rejected', status: statusCode, body: response.body, contentType: response.headers['content-type'], setCookie };
      }
      // 5xx, redirects (never followed: a redirect could point anywhere), 1xx/2xx other than 200.
      throw new AppError('authenticator_bad_response', `status ${statusCode}`);
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
