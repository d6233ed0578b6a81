import type Router from '@koa/router';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { clientAddress, trustedProxies as trustedProxyList } from '../../client-address.js';
import { AppError, toAppError } from '../../errors.js';
import type { AppDeps } from '../app.js';
import { clearedTokenCookie, tokenCookie } from '../cookie.js';
import { requestIdOf } from '../request-id.js';

const MAX_USERNAME_LENGTH = 256;

async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    throw new AppError(type === 'entity.too.large' ? 'body_too_large' : 'body_invalid', type ?? 'unreadable body', { cause: error });
  }
}

/** The username the user typed, for per-username limits; undefined when the body does not say. */
function usernameOf(body: Buffer, contentType: string, field: string): string | undefined {
  let value: unknown;
  try {
    if (contentType.includes('json')) value = (JSON.parse(body.toString('utf8')) as Record<string, unknown> | null)?.[field];
    else if (contentType.includes('x-www-form-urlencoded')) value = new URLSearchParams(body.toString('utf8')).get(field);
  } catch {
    return undefined;
  }
  return typeof value === 'string' && value !== '' ? value.trim().toLowerCase().slice(0, MAX_USERNAME_LENGTH) : undefined;
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
  const trustedProxies = trustedProxyList(config.login.trustedProxies);
  const cookieName = config.check.tokenCookie;

  router.post('/login', async (ctx) => {
    const started = performance.now();
    const requestId = requestIdOf(ctx);
    const address = clientAddress(ctx.req.socket.remoteAddress, ctx.headers, trustedProxies);
    const log = logger.child({ event: 'login', requestId, client: address });
    ctx.set('x-request-id', requestId);
    ctx.set('cache-control', 'no-store');
    let outcome = 'error';
    let username: string | undefined;
    try {
      if (signer === undefined) throw new AppError('not_found', 'verify-only setup: no signing key');
      const contentType = ctx.get('content-type');
      const body = await readBody(ctx, config.login.bodyLimitBytes);
      username = usernameOf(body, contentType.toLowerCase(), config.login.usernameField);

      const attempt = await limiter.attempt(address, username);
      if (!attempt.allowed) {
        metrics.rateLimited.labels(attempt.key).inc();
        throw new AppError('rate_limited', `too many failures by ${attempt.key}`, { headers: { 'retry-after': String(attempt.retryAfterSeconds) } });
      }
      // The attempt counts as a failure unless the authenticator says otherwise; any error on the way
      // (no answer, a bad answer, a signing failure) is no verdict on the credentials.
      let settled = false;
      try {
        const answer = await authenticator.login({ body, contentType: contentType || undefined, requestId, clientAddress: address }).catch((error: unknown) => {
          metrics.authenticatorCalls.labels(toAppError(error).code).inc();
          throw error;
        });
        metrics.authenticatorCalls.labels(answer.kind).inc();
        const passCookies = (): void => {
          if (config.authenticator.passCookies) for (const cookie of answer.setCookie) ctx.append('set-cookie', cookie);
        };

        if (answer.kind === 'rejected') {
          settled = true;
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
        settled = true;
        await attempt.succeeded();
        outcome = 'ok';
        passCookies();
        ctx.set('pragma', 'no-cache');
        if (config.login.setCookie && cookieName !== undefined) ctx.append('set-cookie', tokenCookie(cookieName, signed.token, signed.expiresIn, config.login.cookie));
        ctx.body = { token: signed.token, token_type: 'Bearer', expires_in: signed.expiresIn };
        log.info({ outcome, sub: subject, jti: signed.jti }, 'login succeeded');
      } finally {
        if (!settled) await attempt.undecided();
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
    if (cookieName !== undefined) ctx.append('set-cookie', clearedTokenCookie(cookieName, config.login.cookie));
    ctx.status = 204;
  });
  router.all('/logout', methodNotAllowed('POST'));
}
