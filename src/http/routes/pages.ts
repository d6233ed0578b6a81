/**
 * What a browser sees: the sign-in page (GET /login), the answer to its sign-in form (a redirect to
 * the page it asked for, or the form again with a sentence), the sign-out page and the answer to
 * its sign-out form, and the page nginx shows instead of a bare 401/403 (GET /deny-page, reached
 * only through nginx's internal /_jwt_auth_page). API clients never get any of this: a page is
 * chosen only for requests that accept text/html (and, for POST /login, send a form).
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../../config/index.js';
import { readCheckInputs, readRequestSite } from '../../credentials.js';
import { ERROR_CODES, statusFor, type AppError, type ErrorCode } from '../../errors.js';
import type { LoginOutcome } from '../../login/flow.js';
import { refusedSentence, rejectedSentence } from '../../pages/messages.js';
import { nextFromQuery, safeDestination, type DestinationRules } from '../../pages/next.js';
import { createPageRenderer, type Page, type Person } from '../../pages/render.js';
import { parsePolicy, type Policy } from '../../policy.js';
import type { Claims, TokenVerifier } from '../../token/verify.js';

export interface PageRouteDeps {
  readonly config: Pick<Config, 'pages' | 'cookie' | 'check' | 'login'>;
  readonly verify: TokenVerifier;
}

export interface BrowserPages {
  /** The public paths of /login and /logout (LOGIN_PATH_PREFIX applied). */
  readonly loginPath: string;
  readonly logoutPath: string;
  /** A browser's form post (text/html accepted, a urlencoded body) rather than an API call. */
  isFormPost(ctx: Context): boolean;
  /** A browser navigation (text/html accepted). */
  acceptsPage(ctx: Context): boolean;
  /** Answers a browser's sign-in form with the login flow's outcome. */
  answerLogin(ctx: Context, outcome: LoginOutcome, username: string | undefined): void;
  /** A refusal before the flow ran (cross-site logout, say) as a page. */
  answerRefusal(ctx: Context, error: AppError): void;
  /** After the cookie was cleared: where the browser goes now. */
  answerLogout(ctx: Context): void;
  register(router: Router): void;
}

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const ERROR_CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

function send(ctx: Context, page: Page): void {
  ctx.status = page.status;
  ctx.set(page.headers);
  ctx.body = page.body;
}

function redirect(ctx: Context, status: 302 | 303, location: string): void {
  ctx.status = status;
  ctx.set('location', location);
  ctx.set('cache-control', 'no-store');
  ctx.body = '';
}

/** The requirement, for people: "the role admin", "one of the roles a, b", "the scopes x and y". */
export function describeNeeds(policy: Policy): string | undefined {
  const parts: string[] = [];
  for (const term of policy) {
    if (term.kind === 'role') parts.push(term.anyOf.length === 1 ? `the role ${term.anyOf[0]}` : `one of the roles ${term.anyOf.join(', ')}`);
    else if (term.kind === 'scope') parts.push(term.allOf.length === 1 ? `the scope ${term.allOf[0]}` : `the scopes ${term.allOf.join(' and ')}`);
    else parts.push(`${term.claim.text} to be ${term.value}`);
  }
  return parts.length === 0 ? undefined : parts.join(' and ');
}

function stringClaim(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function createBrowserPages({ config, verify }: PageRouteDeps): BrowserPages {
  const { pages } = config;
  const loginPath = `${pages.pathPrefix}/login`;
  const logoutPath = `${pages.pathPrefix}/logout`;
  const render = createPageRenderer(pages);

  /** This site as the browser sees it, from what nginx forwards; only ever compared, never sent. */
  const originOf = (ctx: Context): string | undefined => {
    const site = readRequestSite(ctx.req.rawHeaders);
    const host = site.forwardedHost ?? site.host;
    const proto = site.forwardedProto === 'https' ? 'https' : 'http';
    return host === undefined || host.includes(',') ? undefined : `${proto}://${host}`;
  };
  const rules = (ctx: Context, fallback: string, refusedPaths: readonly string[]): DestinationRules => ({ origin: originOf(ctx), refusedPaths, fallback });
  /** Where to go after signing in: this request's `next`, when it is a page of this site. */
  const afterSignIn = (ctx: Context, query: string = ctx.querystring): string =>
    safeDestination(nextFromQuery(query), rules(ctx, pages.defaultRedirect, [loginPath]));
  const signInHref = (destination: string): string =>
    destination === pages.defaultRedirect ? loginPath : `${loginPath}?next=${encodeURIComponent(destination)}`;

  /** Who the request's token (cookie or header) says the user is; undefined when it names nobody valid. */
  const personOf = async (ctx: Context): Promise<Person | undefined> => {
    try {
      const { token } = readCheckInputs(ctx.req.rawHeaders, config);
      if (token === undefined) return undefined;
      const { claims } = await verify(token);
      return {
        name: stringClaim(claims, 'name'),
        subject: stringClaim(claims, 'sub') ?? stringClaim(claims, 'username') ?? stringClaim(claims, 'preferred_username'),
      };
    } catch {
      return undefined;
    }
  };

  const signInPage = (ctx: Context, options: { message?: string; username?: string; status?: number; headers?: Record<string, string> } = {}): void =>
    send(ctx, render.signIn({ action: signInHref(afterSignIn(ctx)), ...options }));

  return {
    loginPath,
    logoutPath,
    // The Content-Type first: negotiating a browser's Accept header is the dearer test.
    isFormPost: (ctx) => FORM.test(ctx.get('content-type')) && ctx.accepts('json', 'html') === 'html',
    acceptsPage: (ctx) => ctx.accepts('json', 'html') === 'html',

    answerLogin(ctx, outcome, username) {
      for (const cookie of outcome.kind === 'refused' ? [] : outcome.authenticatorCookies) ctx.append('set-cookie', cookie);
      if (outcome.kind === 'refused') {
        const { code, headers } = outcome.error;
        const retryAfter = headers['retry-after'] === undefined ? undefined : Number(headers['retry-after']);
        signInPage(ctx, { message: refusedSentence(code, retryAfter), username, status: statusFor(code, config.check.unauthenticatedStatus), headers });
      } else if (outcome.kind === 'rejected') {
        signInPage(ctx, { message: rejectedSentence(outcome.status), username, status: outcome.status });
      } else if (outcome.issued.setCookie === undefined) {
        // The token never goes into a page: it would be readable by any script there, defeating HttpOnly.
        send(
          ctx,
          render.problem({
            status: 500,
            title: 'Signing in is not set up',
            sentence:
              'Your sign-in worked, but this site is not set up to keep a browser signed in. Please tell the site\u2019s administrator (TOKEN_COOKIE and LOGIN_SET_COOKIE).',
          }),
        );
      } else {
        ctx.append('set-cookie', outcome.issued.setCookie);
        redirect(ctx, 303, afterSignIn(ctx));
      }
    },

    answerRefusal(ctx, error) {
      send(
        ctx,
        render.problem({
          status: statusFor(error.code, config.check.unauthenticatedStatus),
          title: 'Request refused',
          sentence: refusedSentence(error.code, undefined),
          linkHref: loginPath,
          linkText: 'Go to sign in',
        }),
      );
    },

    answerLogout(ctx) {
      redirect(ctx, 303, safeDestination(nextFromQuery(ctx.querystring), rules(ctx, pages.logoutRedirect ?? logoutPath, [])));
    },

    register(router) {
      router.get(loginPath, (ctx) => signInPage(ctx));
      router.get(logoutPath, async (ctx) => {
        const person = await personOf(ctx);
        send(ctx, person === undefined ? render.signedOut({ signInHref: loginPath }) : render.signOut({ person, action: logoutPath }));
      });

      // nginx's internal /_jwt_auth_page, for a browser instead of the bare 401/403 (or the login
      // flood guard's 429): X-Auth-Error is the deny code, X-Original-URI what the browser asked for,
      // X-Auth-Require the location's requirement.
      router.get('/deny-page', async (ctx) => {
        const raw = ctx.get('x-auth-error');
        const code: ErrorCode | undefined = ERROR_CODE_SET.has(raw) ? (raw as ErrorCode) : undefined;
        const asked = ctx.get('x-original-uri');
        const back = safeDestination(asked, rules(ctx, pages.defaultRedirect, [loginPath]));
        if (code === 'rate_limited') {
          const query = asked.includes('?') ? asked.slice(asked.indexOf('?') + 1) : '';
          const message = 'Too many sign-in attempts from your network. Please wait a minute and try again.';
          send(ctx, render.signIn({ action: signInHref(afterSignIn(ctx, query)), message, status: 429, headers: { 'retry-after': '60' } }));
        } else if (code !== undefined && statusFor(code, 401) === 401 && config.cookie.setOnLogin) {
          // Not signed in (no token, an expired or bad one): to the sign-in page, and back here after it.
          redirect(ctx, 302, signInHref(back));
        } else if (code !== undefined && statusFor(code, 401) === 401) {
          // Without LOGIN_SET_COOKIE a browser could sign in but not stay signed in: no loop through the form.
          send(
            ctx,
            render.problem({
              status: statusFor(code, config.check.unauthenticatedStatus),
              title: 'Sign-in needed',
              sentence: 'This page needs a sign-in that this site does not offer to browsers. Please use the application this page belongs to.',
            }),
          );
        } else if (code === 'insufficient_scope') {
          let needs: string | undefined;
          try {
            needs = describeNeeds(parsePolicy(ctx.get('x-auth-require'), ''));
          } catch {
            needs = undefined;
          }
          const person = await personOf(ctx);
          send(
            ctx,
            render.forbidden({ person, needs, switchAction: `${logoutPath}?next=${encodeURIComponent(signInHref(back))}`, signInHref: signInHref(back) }),
          );
        } else if (code === 'cross_site_request') {
          send(
            ctx,
            render.problem({
              status: 403,
              title: 'Request refused',
              sentence: 'This request was sent from another site, so it was refused. Open the page on this site and try again.',
              linkHref: back,
              linkText: 'Go to the page',
            }),
          );
        } else {
          send(
            ctx,
            render.problem({
              status: 403,
              title: "You can't open this page",
              sentence: "Access to this page was refused. If you think you should have it, please tell the site's administrator.",
            }),
          );
        }
      });
    },
  };
}
