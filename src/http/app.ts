/**
 * The Koa application: one error path, then the routes. It never listens, so tests drive
 * `app.callback()` and `main` owns the socket.
 */
import Router from '@koa/router';
import { ServerResponse } from 'node:http';
import Koa, { type Context, type Next } from 'koa';
import type { AuthenticatorClient } from '../authenticator.js';
import type { Check } from '../check.js';
import type { Config } from '../config/index.js';
import type { DenyLog } from '../deny-log.js';
import { AppError, statusFor, toAppError } from '../errors.js';
import type { KeySource } from '../key-source.js';
import type { Logger } from '../logging.js';
import type { LoginLimiter } from '../login/limiter.js';
import type { Metrics } from '../metrics.js';
import type { TokenSigner } from '../token/sign.js';
import { createCheckResponder, checkRoute, plainCheckQuery, type CheckResponder } from './routes/check.js';
import { loginRoutes } from './routes/login.js';
import { opsRoutes } from './routes/ops.js';

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
  readonly check: Check;
  readonly authenticator: AuthenticatorClient;
  /** Absent in verify-only setups: /login then answers 404. */
  readonly signer: TokenSigner | undefined;
  readonly limiter: LoginLimiter;
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

/**
 * Koa with one exception: the plain `/check` and `/check?args` that nginx's auth_request sends on
 * every protected request are answered before Koa builds a context.
 *
 * Why (issue 4, measured in BENCHMARKS.md): on /check the useful work is a cached signature check of
 * a few microseconds, and Koa's fixed cost per request (context and request/response objects,
 * on-finished listeners, the middleware promise chain: 4-9 µs of CPU here) is as large. With /check
 * as the first middleware and Koa's response handling switched off, that floor alone kept the service
 * at 0.65-0.85x a bare node:http + fast-jwt server, against 0.9-1.1x answered here (both measured
 * with the token/verify.ts change BENCHMARKS.md proposes, so that Koa is the only difference). The
 * fast path is only a URL test in front of Koa's handler; the decision (src/check.ts) and the bytes
 * written (createCheckResponder) are the ones the router's /check route uses for every other
 * spelling (`/check/`, `/CHECK`, absolute-form URLs), and test/routes/check-wire.test.ts holds both
 * paths to them.
 */
class App extends Koa {
  constructor(private readonly checkResponder: CheckResponder) {
    super();
  }

  override callback(): ReturnType<Koa['callback']> {
    const koa = super.callback();
    const respond = this.checkResponder;
    return (req, res) => {
      const query = plainCheckQuery(req.url ?? '');
      // HTTP/1.x only (the service never listens with HTTP/2): the responder writes node's ServerResponse.
      if (query === undefined || !(res instanceof ServerResponse)) return koa(req, res);
      respond(req as typeof res.req, res, query);
      return ANSWERED;
    };
  }
}

const ANSWERED: Promise<void> = Promise.resolve();

export function createApp(deps: AppDeps): Koa {
  const app = new App(createCheckResponder(deps));
  // Errors are answered by errorResponder; this only keeps Koa from printing to stderr.
  app.silent = true;
  const router = new Router();
  checkRoute(router, deps);
  loginRoutes(router, deps);
  opsRoutes(router, deps);
  app.use(errorResponder(deps));
  app.use(router.routes());
  return app;
}
