/**
 * Cookie sessions that renew: a cookie token in the last SESSION_RENEW_BEFORE of its life is
 * re-signed by /check, and the allow carries the new token in Set-Cookie (nginx hands it to the
 * browser, snippets/jwt-auth-protect.conf). The new token is a fresh one of the same session: the
 * same sub, private claims, auth_time and sid, a new jti, and an exp that never passes the session's
 * absolute end (auth_time + SESSION_MAX_LIFETIME), so renewal extends a session only up to that end.
 *
 * There is no race to lose: nothing is stored or invalidated. The old token stays valid until its
 * own exp, and every renewal is a valid token, so requests that overlap a renewal (tabs, a burst of
 * images) all pass whichever cookie they carried, and several renewals at once just set several good
 * cookies, of which the browser keeps the last.
 *
 * Only tokens this service signed are renewed: the header's kid must be the signing key's (a token
 * of another issuer that JWT_VERIFY_JWKS_FILE also accepts is never re-signed with our key), and the
 * token must carry our session claims. A verify-only instance has no signing key and never renews.
 */
import type { Config } from '../config/index.js';
import { tokenCookie } from '../http/cookie.js';
import type { Logger } from '../logging.js';
import type { TokenIssuer } from '../login/issue.js';
import type { Session } from '../token/sign.js';
import type { Claims } from '../token/verify.js';

/**
 * The Set-Cookie of a renewed token for a verified cookie token, or undefined when it needs none (not
 * yet in the renewal window, not ours, at its session's end). Cheap outside the window: one clock read.
 */
export type RenewSession = (token: string, claims: Claims) => string | undefined;

export interface SessionRenewerDeps {
  readonly session: Pick<Config['session'], 'renewBeforeMs' | 'maxLifetimeMs'>;
  readonly cookie: Config['cookie'];
  /** The kid of the key the service signs with now (a reload may change it): only tokens carrying it are renewed. */
  readonly signingKid: () => string | undefined;
  readonly issue: TokenIssuer;
  readonly logger: Logger;
  /** Seconds since the epoch; the wall clock by default. */
  readonly now?: () => number;
}

interface Renewal {
  readonly token: string;
  readonly exp: number;
}

/** A renewal that failed (the token would be too long): not retried for the same token. */
const FAILED = Symbol('renewal failed');

/** The kid of a verified compact JWS, read only for tokens in the renewal window. */
function kidOf(token: string): unknown {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null ? (header as { kid?: unknown }).kid : undefined;
  } catch {
    return undefined;
  }
}

/** The session a token of ours belongs to, with its end; undefined for a token without our session claims. */
export function sessionOf(claims: Claims, maxLifetimeSeconds: number): Required<Session> | undefined {
  const { sid, auth_time: authTime } = claims;
  if (typeof sid !== 'string' || sid === '' || typeof authTime !== 'number' || !Number.isSafeInteger(authTime)) return undefined;
  return { sid, authTime, endsAt: authTime + maxLifetimeSeconds };
}

/** Undefined when renewal is off (SESSION_RENEW_BEFORE=0 or no token cookie). */
export function createSessionRenewer({
  session,
  cookie,
  signingKid,
  issue,
  logger,
  now = () => Date.now() / 1000,
}: SessionRenewerDeps): RenewSession | undefined {
  const cookieName = cookie.name;
  if (session.renewBeforeMs === 0 || cookieName === undefined || !cookie.setOnLogin) return undefined;
  const renewBefore = session.renewBeforeMs / 1000;
  const maxLifetime = session.maxLifetimeMs / 1000;
  const log = logger.child({ event: 'renew' });
  // One renewal per old token, as long as its claims object lives in the verify cache (a WeakMap never
  // keeps it alive): a client that keeps sending the old cookie costs one signature, not one per request.
  const renewals = new WeakMap<Claims, Renewal | typeof FAILED>();

  return (token, claims) => {
    const exp = claims.exp;
    if (typeof exp !== 'number') return undefined;
    const at = now();
    if (exp - at > renewBefore) return undefined;

    const known = renewals.get(claims);
    if (known === FAILED) return undefined;
    if (known !== undefined) return tokenCookie(cookieName, known.token, Math.max(0, Math.floor(known.exp - at)), cookie);

    const continued = sessionOf(claims, maxLifetime);
    // At its session's end a token cannot be given a later exp: the user logs in again.
    if (continued === undefined || continued.endsAt <= exp || typeof claims.sub !== 'string') return undefined;
    if (kidOf(token) !== signingKid()) return undefined;
    try {
      const issued = issue(claims.sub, claims, log, 'session renewed', continued);
      renewals.set(claims, { token: issued.body.token, exp: Math.floor(at) + issued.body.expires_in });
      return issued.setCookie;
    } catch (error) {
      // The old token still works until its exp; the user logs in again then.
      renewals.set(claims, FAILED);
      log.warn(
        { outcome: 'failed', sub: claims.sub, sid: continued.sid, reason: error instanceof Error ? error.message : String(error) },
        'session not renewed',
      );
      return undefined;
    }
  };
}
