import type Router from '@koa/router';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { clientAddress } from '../../client-address.js';
import { createCrossSiteCheck, type SiteSignals } from '../../cross-site.js';
import { AppError, toAppError } from '../../errors.js';
import { loginContentType, parseLoginBody } from '../../login-body.js';
import type { AppDeps } from '../app.js';
import { clearedTokenCookie, tokenCookie } from '../cookie.js';
import { requestIdOf } from '../request-id.js';

const MAX_USERNAME_LENGTH = 256;

/**
 * RFC 6265 §6.1 asks browsers to keep cookies of at least 4096 bytes, name, value and attributes
 * together; a longer one may be dropped without a word, and the user would seem logged in and not be.
 */
const MAX_SET_COOKIE_BYTES = 4096;

async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    throw new AppError(type === 'entity.too.large' ? 'body_too_large' : 'body_invalid', type ?? 'unreadable body', { cause: error });
  }
}

/** The per-username limit's key: case and surrounding spaces do not make another user. Blank is none. */
function usernameKey(username: string | undefined): string | undefined {
  const key = username?.trim().toLowerCase().slice(0, MAX_USERNAME_LENGTH);
  return key === '' ? undefined : key;
}

function siteSignals(ctx: Context): SiteSignals {
  const header = (name: string): string | undefined => {
    const value = ctx.req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    origin: header('origin'),
    secFetchSite: header('sec-fetch-site'),
    host: header('host'),
    forwardedHost: header('x-forwarded-host'),
    forwardedProto: header('x-forwarded-proto'),
  };
}

/** The subject: the first configured field holding a non-empty string or a number. */
function subjectOf(user: Readonly<Record<string, unknown>>, fields: readonly string[]): string | undefined {
  for (const field of fields) {
    const value = Object.hasOwn(user, field) ? user[field] : undefined;
    if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))) return String(value);
  }
  return undefined;
}

function methodNotAllowed(allow: string) {
  return (ctx: Context) => {
    ctx.set('allow', allow);
    throw new AppError('method_not_allowed');
  };
}

/** /login: forward the credentials to the authenticator, sign on its 200, pass its 4xx through. */
export function loginRoutes(router: Router, deps: AppDeps): void {
  const { config, authenticator, signer, limiter, metrics, logger } = deps;
  const cookieName = config.cookie.name;
  const perUserLimit = config.login.maxFailuresPerUser > 0;
  // With the token in a cookie, a page of another site could log its visitor in as the attacker
  // (login CSRF) or out: both are refused. Without a cookie, a cross-site login gains a page nothing.
  const crossSite = config.csrf.protection && cookieName !== undefined ? createCrossSiteCheck(config.csrf) : undefined;
  const refuseCrossSite = (ctx: Context): void => {
    if (crossSite?.(siteSignals(ctx))) throw new AppError('cross_site_request', 'Origin or Sec-Fetch-Site names another site');
  };

  router.post('/login', async (ctx) => {
    const started = performance.now();
    const requestId = requestIdOf(ctx);
    const address = clientAddress(ctx.req.socket.remoteAddress, ctx.headers, config.login.trustedProxies);
    const log = logger.child({ event: 'login', requestId, client: address });
    ctx.set('x-request-id', requestId);
    ctx.set('cache-control', 'no-store');
    let outcome = 'error';
    let username: string | undefined;
    try {
      if (signer === undefined) throw new AppError('not_found', 'verify-only setup: no signing key');
      refuseCrossSite(ctx);
      const contentType = loginContentType(ctx.req.headers['content-type']);
      // What the limit counts is what the authenticator is sent: the one parse, re-serialized.
      const login = parseLoginBody(await readBody(ctx, config.login.bodyLimitBytes), contentType, config.login.usernameField);
      username = usernameKey(login.username);
      if (username === undefined && perUserLimit) throw new AppError('username_missing', `no ${config.login.usernameField} in the body`);

      const attempt = await limiter.attempt(address, username);
      if (!attempt.allowed) {
        metrics.rateLimited.labels(attempt.key).inc();
        throw new AppError('rate_limited', `too many failures by ${attempt.key}`, { headers: { 'retry-after': String(attempt.retryAfterSeconds) } });
      }
      // The attempt counts as a failure when the authenticator rejects the credentials; a success, and
      // any error on the way (no answer, a bad answer, no token to issue), withdraws it.
      let rejected = false;
      try {
        const answer = await authenticator.login({ body: login.body, contentType: login.contentType, requestId, clientAddress: address }).catch((error: unknown) => {
          metrics.authenticatorCalls.labels(toAppError(error).code).inc();
          throw error;
        });
        metrics.authenticatorCalls.labels(answer.kind).inc();
        const passCookies = (): void => {
          if (config.authenticator.passCookies) for (const cookie of answer.setCookie) ctx.append('set-cookie', cookie);
        };

        if (answer.kind === 'rejected') {
          rejected = true;
          outcome = 'rejected';
          passCookies();
          ctx.status = answer.status;
          ctx.body = answer.body;
          // Set as sent: ctx.type would add a charset the authenticator did not say.
          if (answer.contentType !== undefined) ctx.set('content-type', answer.contentType);
          log.info({ outcome, status: answer.status, username }, 'login rejected by the authenticator');
          return;
        }

        const subject = subjectOf(answer.user, config.login.subjectFields);
        if (subject === undefined) throw new AppError('authenticator_bad_response', `no subject in fields ${config.login.subjectFields.join(', ')}`);
        const signed = signer(subject, answer.user);
        // A token /check would refuse, or a cookie the browser would drop, is no login at all.
        if (signed.token.length > config.jwt.maxTokenLength) {
          throw new AppError('issued_token_too_long', `token of ${signed.token.length} characters, JWT_MAX_TOKEN_LENGTH is ${config.jwt.maxTokenLength}`);
        }
        const cookie = config.cookie.setOnLogin && cookieName !== undefined ? tokenCookie(cookieName, signed.token, signed.expiresIn, config.cookie) : undefined;
        if (cookie !== undefined && Buffer.byteLength(cookie) > MAX_SET_COOKIE_BYTES) {
          throw new AppError('issued_token_too_long', `Set-Cookie of ${Buffer.byteLength(cookie)} bytes, browsers keep ${MAX_SET_COOKIE_BYTES}`);
        }
        outcome = 'ok';
        passCookies();
        ctx.set('pragma', 'no-cache');
        if (cookie !== undefined) ctx.append('set-cookie', cookie);
        ctx.body = { token: signed.token, token_type: 'Bearer', expires_in: signed.expiresIn };
        log.info({ outcome, sub: subject, jti: signed.jti }, 'login succeeded');
      } finally {
        if (!rejected) await attempt.withdraw();
      }
    } catch (error) {
      const { code, message } = toAppError(error);
      outcome = code;
      log.warn({ outcome, code, reason: message, username }, 'login failed');
      throw error;
    } finally {
      metrics.logins.labels(outcome).inc();
      metrics.loginDuration.labels(outcome).observe((performance.now() - started) / 1000);
    }
  });
  router.all('/login', methodNotAllowed('POST'));

  router.post('/logout', (ctx) => {
    ctx.set('cache-control', 'no-store');
    refuseCrossSite(ctx);
    if (cookieName !== undefined) ctx.append('set-cookie', clearedTokenCookie(cookieName, config.cookie));
    ctx.status = 204;
  });
  router.all('/logout', methodNotAllowed('POST'));
}
