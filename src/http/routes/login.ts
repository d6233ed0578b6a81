import type Router from '@koa/router';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { AuthenticatorClient } from '../../authenticator.js';
import { clientAddress } from '../../client-address.js';
import type { Config } from '../../config/index.js';
import { readCheckInputs, readRequestSite } from '../../credentials.js';
import { createCrossSiteCheck } from '../../cross-site.js';
import { AppError, toAppError } from '../../errors.js';
import type { Logger } from '../../logging.js';
import { createLoginFlow, type LoginMetrics, type LoginOutcome } from '../../login/flow.js';
import type { TokenIssuer } from '../../login/issue.js';
import type { LoginLimiter } from '../../login/limiter.js';
import type { RefreshTokens } from '../../refresh/tokens.js';
import type { Metrics } from '../../metrics.js';
import type { RevocationStore } from '../../revocation/store.js';
import { revocationLifetimes, revocationOfSession, revocationOfToken, type Revocation } from '../../revocation/list.js';
import type { TokenVerifier } from '../../token/verify.js';
import { clearedTokenCookie } from '../cookie.js';
import { requestIdOf } from '../request-id.js';
import type { BrowserPages } from './pages.js';

/** What /login and /logout use, and nothing more. */
export interface LoginRouteDeps {
  readonly config: Pick<Config, 'login' | 'csrf' | 'authenticator' | 'cookie' | 'check' | 'revocation' | 'session' | 'pages'> & {
    readonly jwt: Pick<Config['jwt'], 'maxTokenLength' | 'clockToleranceMs'>;
  };
  readonly logger: Logger;
  readonly metrics: LoginMetrics & Pick<Metrics, 'logouts'>;
  readonly authenticator: Pick<AuthenticatorClient, 'login'>;
  /** Absent in verify-only setups: /login then answers 404. */
  readonly issue: TokenIssuer | undefined;
  readonly limiter: LoginLimiter;
  readonly refresh: RefreshTokens | undefined;
  /** /logout verifies the token it is given before revoking it: a forged one names nothing. */
  readonly verify: TokenVerifier;
  readonly revocations: Pick<RevocationStore, 'revoke'>;
  /** Browsers' forms get pages and redirects instead of JSON (src/http/routes/pages.ts). */
  readonly pages: BrowserPages;
}

async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    throw new AppError(type === 'entity.too.large' ? 'body_too_large' : 'body_invalid', type ?? 'unreadable body', { cause: error });
  }
}

/** The outcome as a response; a refusal is thrown for the one error path to answer. */
function respond(ctx: Context, outcome: LoginOutcome): void {
  if (outcome.kind === 'refused') throw outcome.error;
  for (const cookie of outcome.authenticatorCookies) ctx.append('set-cookie', cookie);
  if (outcome.kind === 'rejected') {
    ctx.status = outcome.status;
    ctx.body = outcome.body;
    // Set as sent: ctx.type would add a charset the authenticator did not say.
    if (outcome.contentType !== undefined) ctx.set('content-type', outcome.contentType);
    return;
  }
  ctx.set('pragma', 'no-cache');
  if (outcome.issued.setCookie !== undefined) ctx.append('set-cookie', outcome.issued.setCookie);
  ctx.body = outcome.issued.body;
}

function methodNotAllowed(allow: string) {
  return (ctx: Context) => {
    ctx.set('allow', allow);
    throw new AppError('method_not_allowed');
  };
}

/**
 * /login: the login flow (src/login/flow.ts) between reading the request and writing its outcome.
 * /logout: revokes the token it is given (Bearer or cookie) and clears the cookie.
 */
export function loginRoutes(
  router: Router,
  { config, logger, metrics, authenticator, issue, limiter, refresh, verify, revocations, pages }: LoginRouteDeps,
): void {
  const trustedProxies = config.login.trustedProxies;
  const cookieName = config.cookie.name;
  // With the token in a cookie, a page of another site could log its visitor in as the attacker
  // (login CSRF) or out: both are refused. Without a cookie, a cross-site login gains a page nothing.
  const isCrossSite = config.csrf.protection && cookieName !== undefined ? createCrossSiteCheck(config.csrf) : undefined;
  const attemptLogin = createLoginFlow({
    login: config.login,
    passAuthenticatorCookies: config.authenticator.passCookies,
    issue,
    isCrossSite,
    authenticator,
    limiter,
    refresh,
    metrics,
    logger,
  });

  router.post(pages.loginPath, async (ctx) => {
    const requestId = requestIdOf(ctx);
    ctx.set('x-request-id', requestId);
    ctx.set('cache-control', 'no-store');
    const formPost = pages.isFormPost(ctx);
    let body: Buffer | undefined;
    const outcome = await attemptLogin({
      requestId,
      clientAddress: clientAddress(ctx.req.socket.remoteAddress, ctx.headers, trustedProxies),
      site: readRequestSite(ctx.req.rawHeaders),
      contentType: ctx.req.headers['content-type'],
      readBody: async (limit) => (body = await readBody(ctx, limit)),
    });
    if (!formPost) return respond(ctx, outcome);
    // Only to fill the form in again; the flow's strict parse is what counts.
    const username = body === undefined ? undefined : (new URLSearchParams(body.toString('utf8')).get(config.login.usernameField) ?? undefined);
    pages.answerLogin(ctx, outcome, username);
  });
  router.all(pages.loginPath, methodNotAllowed('GET, POST'));

  const lifetimes = revocationLifetimes(config);
  /**
   * 204 once the token is revoked everywhere (or when there is none, or it no longer passes /check:
   * nothing left to revoke). The cookie is cleared in every answer but a cross-site refusal, since the
   * browser's session ends either way; 503 revocation_unavailable and 422 token_not_revocable say the
   * token itself still passes.
   */
  router.post(pages.logoutPath, async (ctx) => {
    const requestId = requestIdOf(ctx);
    ctx.set('x-request-id', requestId);
    ctx.set('cache-control', 'no-store');
    if (isCrossSite?.(readRequestSite(ctx.req.rawHeaders))) {
      const error = new AppError('cross_site_request', 'Origin or Sec-Fetch-Site names another site');
      if (!pages.acceptsPage(ctx)) throw error;
      return pages.answerRefusal(ctx, error);
    }
    if (cookieName !== undefined) ctx.append('set-cookie', clearedTokenCookie(cookieName, config.cookie));
    const { token } = readCheckInputs(ctx.req.rawHeaders, config);
    // Expired, forged or malformed: /check refuses it already, and a forged one must not fill the
    // list. A bug is not such a refusal: it fails the logout (500) rather than answer 204 unrevoked.
    const verdict = token === undefined ? undefined : await verify.verdict(token);
    const claims = verdict === undefined || verdict instanceof AppError ? undefined : verdict.claims;
    if (claims !== undefined) {
      // The token and the session it belongs to: the tokens renewed or refreshed from the same login,
      // and its refresh tokens, end with it.
      const toRevoke: Revocation[] = [];
      const ofToken = revocationOfToken(claims.jti, claims.exp, lifetimes);
      const ofSession = revocationOfSession(claims.sid, claims.auth_time, claims.exp, lifetimes);
      if (ofToken !== undefined) toRevoke.push(ofToken);
      if (ofSession !== undefined) toRevoke.push(ofSession);
      if (toRevoke.length === 0) {
        metrics.logouts.labels('not_revocable').inc();
        const error = new AppError('token_not_revocable', 'the token has neither jti nor sid');
        if (!pages.acceptsPage(ctx)) throw error;
        return pages.answerRefusal(ctx, error);
      }
      try {
        for (const revocation of toRevoke) await revocations.revoke(revocation);
      } catch (error) {
        metrics.logouts.labels('revocation_unavailable').inc();
        logger.warn(
          { event: 'logout', outcome: 'revocation_unavailable', sub: claims.sub, jti: claims.jti, requestId, err: toAppError(error).message },
          'logout: the token could not be revoked',
        );
        if (!pages.acceptsPage(ctx)) throw error;
        return pages.answerRefusal(ctx, toAppError(error));
      }
      logger.info({ event: 'logout', outcome: 'revoked', sub: claims.sub, jti: claims.jti, requestId }, 'logout: token revoked');
    }
    metrics.logouts.labels(claims === undefined ? 'nothing_to_revoke' : 'revoked').inc();
    if (pages.acceptsPage(ctx)) return pages.answerLogout(ctx);
    ctx.status = 204;
  });
  router.all(pages.logoutPath, methodNotAllowed('GET, POST'));
}
