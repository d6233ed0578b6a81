/**
 * Issuing a token to a user already established: sign it, make sure /check and the browser will take
 * it, and say what the response carries. /login issues through this once the authenticator vouches
 * for the user; any other way in (a refresh, say) issues through the same step and so answers alike.
 */
import type { Config } from '../config/index.js';
import { AppError } from '../errors.js';
import { tokenCookie } from '../http/cookie.js';
import type { Logger } from '../logging.js';
import { newSessionId, type Session, type TokenSigner } from '../token/sign.js';

/**
 * RFC 6265 §6.1 asks browsers to keep cookies of at least 4096 bytes, name, value and attributes
 * together; a longer one may be dropped without a word, and the user would seem logged in and not be.
 */
const MAX_SET_COOKIE_BYTES = 4096;

/** The response body of an issued token: RFC 6749 §5.1's names. */
export interface IssuedTokenBody {
  readonly token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  /** With REFRESH_TOKEN_TTL: the refresh token that replaces this one at /refresh, and its lifetime. */
  readonly refresh_token?: string;
  readonly refresh_expires_in?: number;
}

export interface IssuedToken {
  readonly body: IssuedTokenBody;
  /** The token cookie's Set-Cookie value; undefined unless tokens are also sent as a cookie. */
  readonly setCookie: string | undefined;
  /** The session the token belongs to, with its end: what a refresh token of this login records. */
  readonly session: Required<Session>;
}

/**
 * Issues a token for `subject` carrying `claims` (registered and session claims are the signer's
 * own), and logs `message` with the subject, the session and the token's jti, never the token.
 * Without `session` this is a login: a new session starts, ending SESSION_MAX_LIFETIME from now; a
 * renewal or a refresh passes the session it continues, and its token never outlives that end.
 * @throws AppError issued_token_too_long: a token longer than /check accepts, or a Set-Cookie longer
 *   than browsers keep. Nothing is logged as issued then.
 */
export type TokenIssuer = (
  subject: string,
  claims: Readonly<Record<string, unknown>>,
  log: Logger,
  message: string,
  session?: Required<Session>,
) => IssuedToken;

export interface TokenIssuerOptions {
  readonly signer: TokenSigner;
  readonly jwt: Pick<Config['jwt'], 'maxTokenLength'>;
  /** The token cookie: set on issue only with a name and setOnLogin. */
  readonly cookie: Config['cookie'];
  readonly session: Pick<Config['session'], 'maxLifetimeMs'>;
  /** Seconds since the epoch, for a new session's start; the wall clock by default. */
  readonly now?: () => number;
}

export function createTokenIssuer({ signer, jwt, cookie, session: sessions, now = () => Math.floor(Date.now() / 1000) }: TokenIssuerOptions): TokenIssuer {
  const issuedCookie = cookie.setOnLogin ? cookie.name : undefined;
  const maxLifetime = sessions.maxLifetimeMs / 1000;
  return (subject, claims, log, message, continued) => {
    const started = now();
    const session = continued ?? { sid: newSessionId(), authTime: started, endsAt: started + maxLifetime };
    const signed = signer(subject, claims, undefined, session);
    // A token /check would refuse, or a cookie the browser would drop, is no login at all.
    if (signed.token.length > jwt.maxTokenLength) {
      throw new AppError('issued_token_too_long', `token of ${signed.token.length} characters, JWT_MAX_TOKEN_LENGTH is ${jwt.maxTokenLength}`);
    }
    const setCookie = issuedCookie === undefined ? undefined : tokenCookie(issuedCookie, signed.token, signed.expiresIn, cookie);
    if (setCookie !== undefined && Buffer.byteLength(setCookie) > MAX_SET_COOKIE_BYTES) {
      throw new AppError('issued_token_too_long', `Set-Cookie of ${Buffer.byteLength(setCookie)} bytes, browsers keep ${MAX_SET_COOKIE_BYTES}`);
    }
    log.info({ outcome: 'ok', sub: subject, jti: signed.jti, sid: session.sid }, message);
    return { body: { token: signed.token, token_type: 'Bearer', expires_in: signed.expiresIn }, setCookie, session };
  };
}
