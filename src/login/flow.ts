/**
 * The login flow, without HTTP: refuse what may not log in (no signing key, a page of another site,
 * a body we would read differently from the authenticator, a client or username over its failure
 * limit), ask the authenticator, then issue a token or pass its rejection on. Every attempt ends in
 * one outcome, one log line and one count; the route only reads the request and writes the outcome.
 */
import type { AuthenticatorClient } from '../authenticator.js';
import type { Config } from '../config/index.js';
import type { CrossSiteCheck, SiteSignals } from '../cross-site.js';
import { AppError, toAppError } from '../errors.js';
import { ownFieldsLogger, type Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { loginContentType, parseLoginBody } from './body.js';
import type { IssuedToken, TokenIssuer } from './issue.js';
import type { LoginLimiter } from './limiter.js';
import type { RefreshTokens } from '../refresh/tokens.js';

const MAX_USERNAME_LENGTH = 256;

export interface LoginInput {
  readonly requestId: string;
  /** The client's address as the limiter counts it: trusted proxies already resolved. */
  readonly clientAddress: string;
  readonly site: SiteSignals;
  /** The Content-Type header as sent. */
  readonly contentType: string | undefined;
  /**
   * Reads the body, at most `limitBytes`; asked only once the request passed every check that needs
   * no body. @throws AppError body_too_large / body_invalid.
   */
  readBody(limitBytes: number): Promise<Buffer>;
}

export type LoginOutcome =
  /** A token: the response carries `issued`, after the authenticator's cookies. */
  | { readonly kind: 'issued'; readonly issued: IssuedToken; readonly authenticatorCookies: readonly string[] }
  /** The authenticator refused the credentials: its answer, passed on as it was sent. */
  | {
      readonly kind: 'rejected';
      readonly status: number;
      readonly body: Buffer;
      /** As the authenticator sent it: no charset is added. */
      readonly contentType: string | undefined;
      readonly authenticatorCookies: readonly string[];
    }
  /** No login: answered as any error is, the code in the body and `error.headers` (Retry-After) set. */
  | { readonly kind: 'refused'; readonly error: AppError };

export type LoginFlow = (input: LoginInput) => Promise<LoginOutcome>;

export type LoginMetrics = Pick<Metrics, 'logins' | 'loginDuration' | 'authenticatorCalls' | 'rateLimited'>;

export interface LoginFlowDeps {
  readonly login: Pick<Config['login'], 'bodyLimitBytes' | 'usernameField' | 'subjectFields' | 'maxFailuresPerUser'>;
  /** Whether the authenticator's Set-Cookie headers reach the client (its session, say). */
  readonly passAuthenticatorCookies: boolean;
  /** Undefined in verify-only setups (no signing key): every login is refused as not_found. */
  readonly issue: TokenIssuer | undefined;
  /** Refuses logins sent by a page of another site (login CSRF); undefined where they gain it nothing. */
  readonly isCrossSite: CrossSiteCheck | undefined;
  readonly authenticator: Pick<AuthenticatorClient, 'login'>;
  readonly limiter: LoginLimiter;
  /** With REFRESH_TOKEN_TTL: each login also gets a refresh token, recorded before it is answered. */
  readonly refresh?: RefreshTokens;
  readonly metrics: LoginMetrics;
  readonly logger: Logger;
}

/** The per-username limit's key: case and surrounding spaces do not make another user. Blank is none. */
function usernameKey(username: string | undefined): string | undefined {
  const key = username?.trim().toLowerCase().slice(0, MAX_USERNAME_LENGTH);
  return key === '' ? undefined : key;
}

/** The subject: the first configured field holding a non-empty string or a number. */
function subjectOf(user: Readonly<Record<string, unknown>>, fields: readonly string[]): string | undefined {
  for (const field of fields) {
    const value = Object.hasOwn(user, field) ? user[field] : undefined;
    if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))) return String(value);
  }
  return undefined;
}

export function createLoginFlow(deps: LoginFlowDeps): LoginFlow {
  const { login, passAuthenticatorCookies, issue, isCrossSite, authenticator, limiter, refresh, metrics, logger } = deps;
  const perUserLimit = login.maxFailuresPerUser > 0;
  // Every line of a login is built here and in the issuer: codes, ids, the username, never the body.
  const loginLogger = ownFieldsLogger(logger);

  /** The login up to its outcome; throws whatever refuses it. `seen.username` is set once known, for the log. */
  async function decide(input: LoginInput, log: Logger, seen: { username?: string }): Promise<Exclude<LoginOutcome, { kind: 'refused' }>> {
    if (issue === undefined) throw new AppError('not_found', 'verify-only setup: no signing key');
    if (isCrossSite?.(input.site)) throw new AppError('cross_site_request', 'Origin or Sec-Fetch-Site names another site');
    const contentType = loginContentType(input.contentType);
    // What the limit counts is what the authenticator is sent: the one parse, re-serialized.
    const body = parseLoginBody(await input.readBody(login.bodyLimitBytes), contentType, login.usernameField);
    const username = usernameKey(body.username);
    seen.username = username;
    if (username === undefined && perUserLimit) throw new AppError('username_missing', `no ${login.usernameField} in the body`);

    const counted = await limiter.attempt(input.clientAddress, username);
    if (!counted.allowed) {
      metrics.rateLimited.labels(counted.key).inc();
      throw new AppError('rate_limited', `too many failures by ${counted.key}`, { headers: { 'retry-after': String(counted.retryAfterSeconds) } });
    }
    // The attempt counts as a failure when the authenticator rejects the credentials; a success, and
    // any error on the way (no answer, a bad answer, no token to issue), withdraws it.
    let rejected = false;
    try {
      const answer = await authenticator
        .login({ body: body.body, contentType: body.contentType, requestId: input.requestId, clientAddress: input.clientAddress })
        .catch((error: unknown) => {
          metrics.authenticatorCalls.labels(toAppError(error).code).inc();
          throw error;
        });
      metrics.authenticatorCalls.labels(answer.kind).inc();
      const authenticatorCookies = passAuthenticatorCookies ? answer.setCookie : [];

      if (answer.kind === 'rejected') {
        rejected = true;
        log.info({ outcome: 'rejected', status: answer.status, username }, 'login rejected by the authenticator');
        return { kind: 'rejected', status: answer.status, body: answer.body, contentType: answer.contentType, authenticatorCookies };
      }
      const subject = subjectOf(answer.user, login.subjectFields);
      if (subject === undefined) throw new AppError('authenticator_bad_response', `no subject in fields ${login.subjectFields.join(', ')}`);
      const issued = issue(subject, answer.user, log, 'login succeeded');
      if (refresh === undefined) return { kind: 'issued', issued, authenticatorCookies };
      // A refresh token that could not be recorded is not handed out, and nor is the login (503):
      // the client asked for a session it can refresh.
      const refreshToken = await refresh.start({ subject, claims: answer.user, session: issued.session });
      return { kind: 'issued', issued: { ...issued, body: { ...issued.body, ...refreshToken } }, authenticatorCookies };
    } finally {
      if (!rejected) await counted.withdraw();
    }
  }

  return async function attemptLogin(input) {
    const started = performance.now();
    const log = loginLogger.child({ event: 'login', requestId: input.requestId, client: input.clientAddress });
    const seen: { username?: string } = {};
    let label = 'error';
    try {
      const outcome = await decide(input, log, seen);
      label = outcome.kind === 'issued' ? 'ok' : 'rejected';
      return outcome;
    } catch (thrown) {
      const error = toAppError(thrown);
      label = error.code;
      log.warn({ outcome: label, code: error.code, reason: error.message, username: seen.username }, 'login failed');
      return { kind: 'refused', error };
    } finally {
      metrics.logins.labels(label).inc();
      metrics.loginDuration.labels(label).observe((performance.now() - started) / 1000);
    }
  };
}
