/**
 * The Koa application: one error path, then the routes. It never listens: createHttpServer
 * (src/http/server.ts) puts it behind the path that answers nginx's /check requests first.
 */
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import type { AuthenticatorClient } from '../authenticator.js';
import type { CheckAnswerWriter } from '../check/answer.js';
import type { DecideAccess } from '../check/decision.js';
import { koaCheckRoute } from '../check/route.js';
import type { Config } from '../config/index.js';
import type { DenyLog } from '../deny-log.js';
import { AppError, statusFor, toAppError } from '../errors.js';
import type { TrustRuntime } from '../trust.js';
import type { KeySource } from '../key-source.js';
import type { Logger } from '../logging.js';
import type { TokenIssuer } from '../login/issue.js';
import type { RefreshTokens } from '../refresh/tokens.js';
import type { LoginLimiter } from '../login/limiter.js';
import type { Metrics } from '../metrics.js';
import type { RevocationStore } from '../revocation/store.js';
import type { TokenVerifier } from '../token/verify.js';
import { loginRoutes } from './routes/login.js';
import { opsRoutes } from './routes/ops.js';
import { refreshRoutes } from './routes/refresh.js';
import { createBrowserPages } from './routes/pages.js';

/** Mutable process state the routes read: set by main as it starts and stops. */
export interface Lifecycle {
  ready: boolean;
  shuttingDown: boolean;
}

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** Where /check denials are logged: bounded in size and rate. */
  readonly denyLog: DenyLog;
  readonly metrics: Metrics;
  readonly keySource: KeySource;
  readonly trust: TrustRuntime;
  /** Whether a /check request may pass. */
  readonly decideAccess: DecideAccess;
  /** Writes /check's answers: used by the path before Koa, the Koa route and the parser-refusal handler. */
  readonly checkAnswers: CheckAnswerWriter;
  readonly authenticator: AuthenticatorClient;
  /** The one place tokens are signed; absent in verify-only setups: /login then answers 404. */
  readonly issue: TokenIssuer | undefined;
  readonly limiter: LoginLimiter;
  /** With REFRESH_TOKEN_TTL and a signing key: refresh tokens at /login and /refresh. */
  readonly refresh: RefreshTokens | undefined;
  /** The verifier /check uses, for /logout. */
  readonly verify: TokenVerifier;
  readonly revocations: RevocationStore;
  readonly lifecycle: Lifecycle;
}

/** The one place an error becomes a response. Koa's own onerror would drop our headers. */
function errorResponder({ config, logger, lifecycle }: AppDeps) {
  return async (ctx: Context, next: Next): Promise<void> => {
    // While draining, ask keep-alive clients (nginx) to reconnect, so they find a live instance.
    if (lifecycle.shuttingDown) ctx.set('connection', 'close');
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('not_found');
    } catch (thrown) {
      const error = toAppError(thrown);
      const status = statusFor(error.code, config.check.unauthenticatedStatus);
      if (status >= 500 && error.code === 'internal_error') logger.error({ err: error.cause ?? error, path: ctx.path }, 'unexpected error');
      ctx.status = status;
      ctx.set(error.headers);
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: error.code };
    }
  };
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // Errors are answered by errorResponder; this only keeps Koa from printing to stderr.
  app.silent = true;
  const router = new Router();
  koaCheckRoute(router, deps.checkAnswers);
  const pages = createBrowserPages(deps);
  // GET /login and /logout (pages) before the login routes' catch-all 405 for other methods.
  pages.register(router);
  loginRoutes(router, { ...deps, pages });
  refreshRoutes(router, deps);
  opsRoutes(router, deps);
  app.use(errorResponder(deps));
  app.use(router.routes());
  return app;
}
