/**
 * The whole scenario on loopback, as docker-compose runs it: nginx (the repo's config) in front
 * of the app, nginx-jwt-auth behind `auth_request`, the Flask authenticator behind /login. The
 * Flask app is also the protected app; a recording proxy sits in front of it so tests can prove
 * a request never reached it, and optionally another in front of the service.
 *
 *   client ─► nginx ─auth_request─► [auth recorder] ─► service ─/login─► Flask
 *               └─ proxy_pass ─► app recorder ─► Flask (/whoami, echo)
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { startFlaskAuthenticator, type AuthenticatorInstance } from './authenticator.js';
import { httpRequest, type HttpRequestOptions, type HttpResponse } from './http.js';
import { startNginx, type NginxInstance } from './nginx.js';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.js';
import { startServiceProcess, type ServiceProcess } from './service.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { makeSecret, mintToken, type MintOptions } from './tokens.js';

/**
 * The service's IDENTITY_HEADERS in the tests and in docker-compose; nginx/snippets/
 * jwt-auth-protect.conf sets and overwrites exactly these headers.
 */
export const IDENTITY_HEADERS = 'sub:X-Auth-User,roles:X-Auth-Roles,name:X-Auth-Name';

/**
 * The demo's scenario, which docker-compose.yml runs too (test/deploy/compose.test.ts holds them
 * together): 401 mode, the token in an HttpOnly cookie set by /login (plain HTTP on loopback, so not
 * Secure), browsers sent to the demo app's /whoami after signing in when they asked for nothing.
 */
export const DEMO_SERVICE_ENV: Readonly<Record<string, string>> = Object.freeze({
  IDENTITY_HEADERS,
  CHECK_UNAUTHENTICATED_STATUS: '401',
  TOKEN_COOKIE: 'jwt_auth',
  LOGIN_SET_COOKIE: 'true',
  COOKIE_SECURE: 'false',
  LOGIN_REDIRECT_DEFAULT: '/whoami',
});

export interface StackOptions {
  /** CHECK_UNAUTHENTICATED_STATUS; default 403. */
  unauthenticatedStatus?: 403 | 401;
  /** Put a recording proxy between nginx and the service (stack.authRecorder). */
  recordAuth?: boolean;
  /** Extra service environment. */
  serviceEnv?: Readonly<Record<string, string>>;
}

export interface Stack {
  readonly dir: string;
  readonly secret: string;
  readonly nginx: NginxInstance;
  readonly service: ServiceProcess;
  readonly flask: AuthenticatorInstance;
  readonly appRecorder: RecordingProxy;
  readonly authRecorder: RecordingProxy | undefined;
  /** A request to nginx. */
  request(path: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  /** A token the service accepts (same secret), with `claims`. */
  mint(claims: JWTPayload, options?: MintOptions): Promise<string>;
  /** The tails of every log, for failure messages. */
  diagnostics(): string;
  /** Stops everything that is still running and removes the temp folder. Idempotent. */
  stop(): Promise<void>;
}

type Stoppable = { stop(): Promise<void> };

async function stopAll(parts: Stoppable[]): Promise<void> {
  // Reverse start order: nginx first, so nothing new reaches the others while they stop.
  for (const part of [...parts].reverse()) {
    await part.stop().catch(() => undefined);
  }
}

/** Starts the stack; on any failure stops what had started and rethrows. */
export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const dir = makeTempDir(label);
  const secret = makeSecret();
  const started: Stoppable[] = [];
  const track = <T extends Stoppable>(part: T): T => {
    started.push(part);
    return part;
  };
  try {
    const flask = track(await startFlaskAuthenticator({ dir }));
    const appRecorder = track(await startRecordingProxy(flask.addr));
    const service = track(
      await startServiceProcess(
        {
          JWT_SECRET: secret,
          IDENTITY_HEADERS,
          AUTHENTICATOR_URL: flask.loginUrl,
          CHECK_UNAUTHENTICATED_STATUS: String(options.unauthenticatedStatus ?? 403),
          ...options.serviceEnv,
        },
        { dir },
      ),
    );
    const authRecorder = options.recordAuth ? track(await startRecordingProxy(service.addr)) : undefined;
    const nginx = track(await startNginx({ jwtAuthAddr: authRecorder?.addr ?? service.addr, appAddr: appRecorder.addr, dir }));

    let stopped = false;
    return {
      dir,
      secret,
      nginx,
      service,
      flask,
      appRecorder,
      authRecorder,
      request: (path, requestOptions) => httpRequest(`${nginx.url}${path}`, requestOptions),
      mint: (claims, mintOptions) => mintToken(secret, claims, mintOptions),
      diagnostics: () =>
        [
          `--- nginx error log (${nginx.prefix}/logs/error.log)\n${nginx.errorLog(3000)}`,
          `--- nginx access log\n${nginx.accessLog(2000)}`,
          `--- service log\n${service.log(3000)}`,
          `--- flask log\n${flask.log(1500)}`,
        ].join('\n'),
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll(started);
        removeTempDir(dir);
      },
    };
  } catch (error) {
    await stopAll(started);
    removeTempDir(dir);
    throw error;
  }
}

/**
 * Wraps a test body so that a failure carries the stack's logs (nginx error and access logs, the
 * service's and Flask's output): what one needs to see why nginx answered what it did.
 */
export function withDiagnostics(getStack: () => Stack | undefined, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      const stack = getStack();
      if (error instanceof Error && stack !== undefined) error.message += `\n${stack.diagnostics()}`;
      throw error;
    }
  };
}

export interface StackFixture {
  /** The running stack; fails the test when it has not started. */
  stack(): Stack;
  /** A test whose failure carries the stack's logs. */
  spec(name: string, body: () => Promise<void>): void;
}

/**
 * Starts a stack before the tests of the enclosing describe and stops it after them. Hooks that
 * must run before the stop (closing a test's own sockets, reading a log) are registered first.
 */
export function useStack(label: string, options: StackOptions = {}): StackFixture {
  let started: Stack | undefined;
  const hook = { timeout: 60_000 };
  before(async () => {
    started = await startStack(label, options);
  }, hook);
  after(async () => {
    await started?.stop();
  }, hook);
  return {
    stack: () => {
      assert.ok(started, 'stack not started');
      return started;
    },
    spec: (name, body) =>
      void it(
        name,
        withDiagnostics(() => started, body),
      ),
  };
}
