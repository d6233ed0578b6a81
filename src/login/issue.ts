/**
 * Issuing a token to a user already established: sign it, make sure /check and the browser will take
 * it, and say what the response carries. /login issues through this once the authenticator vouches
 * for the user; any other way in (a refresh, say) issues through the same step and so answers alike.
 */
import type { Config } from '../config/index.js';
import { AppError } from '../errors.js';
import { tokenCookie } from '../http/cookie.js';
import type { Logger } from '../logging.js';
import type { TokenSigner } from '../token/sign.js';

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
}

export interface IssuedToken {
  readonly body: IssuedTokenBody;
  /** The token cookie's Set-Cookie value; undefined unless tokens are also sent as a cookie. */
  readonly setCookie: string | undefined;
}

/**
 * Issues a token for `subject` carrying `claims` (registered claims are the signer's own), and logs
 * `message` with the subject and the token's jti, never the token.
 * @throws AppError issued_token_too_long: a token longer than /check accepts, or a Set-Cookie longer
 *   than browsers keep. Nothing is logged as issued then.
 */
export type TokenIssuer = (subject: string, claims: Readonly<Record<string, unknown>>, log: Logger, message: string) => IssuedToken;

export interface TokenIssuerOptions {
  readonly signer: TokenSigner;
  readonly jwt: Pick<Config['jwt'], 'maxTokenLength'>;
  /** The token cookie: set on issue only with a name and setOnLogin. */
  readonly cookie: Config['cookie'];
}

export function createTokenIssuer({ signer, jwt, cookie }: TokenIssuerOptions): TokenIssuer {
  const issuedCookie = cookie.setOnLogin ? cookie.name : undefined;
  return (subject, claims, log, message) => {
    const signed = signer(subject, claims);
    // A token /check would refuse, or a cookie the browser would drop, is no login at all.
    if (signed.token.length > jwt.maxTokenLength) {
      throw new AppError('issued_token_too_long', `token of ${signed.token.length} characters, JWT_MAX_TOKEN_LENGTH is ${jwt.maxTokenLength}`);
    }
    const setCookie = issuedCookie === undefined ? undefined : tokenCookie(issuedCookie, signed.token, signed.expiresIn, cookie);
    if (setCookie !== undefined && Buffer.byteLength(setCookie) > MAX_SET_COOKIE_BYTES) {
      throw new AppError('issued_token_too_long', `Set-Cookie of ${Buffer.byteLength(setCookie)} bytes, browsers keep ${MAX_SET_COOKIE_BYTES}`);
    }
    log.info({ outcome: 'ok', sub: subject, jti: signed.jti }, message);
    return { body: { token: signed.token, token_type: 'Bearer', expires_in: signed.expiresIn }, setCookie };
  };
}
