/**
 * Token signing for /login and the `sign` command. Registered claims are always the service's own.
 */
import { randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { Config } from '../config/index.js';
import type { KeySnapshot, KeySource } from '../key-source.js';
import type { SigningKey } from '../keys.js';

/** Claims the service sets itself and never copies from the authenticator (RFC 7519 §4.1). */
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

export interface SignedToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly jti: string;
}

/** Signs the given private claims for `subject`. */
export type TokenSigner = (subject: string, privateClaims: Readonly<Record<string, unknown>>, ttlSeconds?: number) => SignedToken;

export interface SignerOptions {
  /** Seconds since the epoch; the wall clock by default. */
  readonly now?: () => number;
}

export function createTokenSigner(jwt: Config['jwt'], key: SigningKey, options: SignerOptions = {}): TokenSigner {
  // No noTimestamp: fast-jwt would then drop the iat we set below. It keeps a payload's own iat.
  const sign = createSigner({ key: key.material, algorithm: key.alg as never, kid: key.kid });
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const audience = jwt.audience.length === 1 ? jwt.audience[0] : jwt.audience.length > 1 ? [...jwt.audience] : undefined;

  return (subject, privateClaims, ttlSeconds = jwt.ttlMs / 1000) => {
    const issuedAt = now();
    const jti = randomUUID();
    const claims: Record<string, unknown> = Object.fromEntries(Object.entries(privateClaims).filter(([name]) => !REGISTERED_CLAIMS.has(name)));
    Object.assign(claims, {
      sub: subject,
      ...(jwt.issuer === undefined ? {} : { iss: jwt.issuer }),
      ...(audience === undefined ? {} : { aud: audience }),
      iat: issuedAt,
      nbf: issuedAt,
      exp: issuedAt + ttlSeconds,
      jti,
    });
    return { token: sign(claims), expiresIn: ttlSeconds, jti };
  };
}

/**
 * A signer that follows the source: after a key reload, the next token is signed with the new
 * signing key (whose public half the reload published in the same snapshot). A snapshot without a
 * signing key keeps the last one: the reload refuses such files, so this only guards a source that
 * was swapped by other means.
 */
export function createFollowingSigner(jwt: Config['jwt'], keys: KeySource, options: SignerOptions = {}): TokenSigner | undefined {
  let snapshot: KeySnapshot = keys.current();
  if (snapshot.signing === undefined) return undefined;
  let signer = createTokenSigner(jwt, snapshot.signing, options);
  return (subject, privateClaims, ttlSeconds) => {
    const current = keys.current();
    if (current !== snapshot && current.signing !== undefined) {
      snapshot = current;
      signer = createTokenSigner(jwt, current.signing, options);
    }
    return signer(subject, privateClaims, ttlSeconds);
  };
}
