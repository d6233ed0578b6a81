/**
 * Token signing for /login and the `sign` command. Registered claims are always the service's own.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { Config } from '../config/index.js';
import type { KeySnapshot, KeySource } from '../key-source.js';
import type { SigningKey } from '../keys.js';

/** Claims the service sets itself and never copies from the authenticator (RFC 7519 §4.1). */
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

/**
 * The session claims, also the service's own: `auth_time` (OpenID Connect Core §2: when the user
 * logged in) and `sid` (which login a token descends from). A renewal or a refresh carries both
 * over unchanged, so the absolute session lifetime counts from the login, never from the last renewal.
 */
export const SESSION_CLAIMS: ReadonlySet<string> = new Set(['auth_time', 'sid']);

/** The login a token belongs to. */
export interface Session {
  /** 128 random bits, base64url. */
  readonly sid: string;
  /** When the user logged in, seconds since the epoch. */
  readonly authTime: number;
  /** No token of this session lives past this (seconds since the epoch); unbounded when absent. */
  readonly endsAt?: number;
}

export interface SignedToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly jti: string;
  /** The session the token carries: the one given, or a new one starting now. */
  readonly session: Session;
}

const SESSION_ID_BYTES = 16;
// randomBytes(16) costs ~2 µs a call, mostly its way into OpenSSL; like randomUUID, ids are cut from
// a buffer filled 4 KiB at a time, each byte used once.
const sessionIdEntropy = Buffer.alloc(4096);
let sessionIdOffset = sessionIdEntropy.length;

/** A new session id: 128 random bits. */
export function newSessionId(): string {
  if (sessionIdOffset + SESSION_ID_BYTES > sessionIdEntropy.length) {
    randomFillSync(sessionIdEntropy);
    sessionIdOffset = 0;
  }
  const id = sessionIdEntropy.toString('base64url', sessionIdOffset, sessionIdOffset + SESSION_ID_BYTES);
  sessionIdOffset += SESSION_ID_BYTES;
  return id;
}

/**
 * Signs the given private claims for `subject`: a token of `session` (a new session starting now when
 * absent), living `ttlSeconds` (JWT_TTL by default) but never past the session's end.
 */
export type TokenSigner = (subject: string, privateClaims: Readonly<Record<string, unknown>>, ttlSeconds?: number, session?: Session) => SignedToken;

export interface SignerOptions {
  /** Seconds since the epoch; the wall clock by default. */
  readonly now?: () => number;
}

export function createTokenSigner(jwt: Config['jwt'], key: SigningKey, options: SignerOptions = {}): TokenSigner {
  // No noTimestamp: fast-jwt would then drop the iat we set below. It keeps a payload's own iat.
  const sign = createSigner({ key: key.material, algorithm: key.alg as never, kid: key.kid });
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const audience = jwt.audience.length === 1 ? jwt.audience[0] : jwt.audience.length > 1 ? [...jwt.audience] : undefined;

  return (subject, privateClaims, ttlSeconds = jwt.ttlMs / 1000, given) => {
    const issuedAt = now();
    const session = given ?? { sid: newSessionId(), authTime: issuedAt };
    const jti = randomUUID();
    const exp = Math.min(issuedAt + ttlSeconds, session.endsAt ?? Number.POSITIVE_INFINITY);
    const claims: Record<string, unknown> = Object.fromEntries(
      Object.entries(privateClaims).filter(([name]) => !REGISTERED_CLAIMS.has(name) && !SESSION_CLAIMS.has(name)),
    );
    Object.assign(claims, {
      sub: subject,
      ...(jwt.issuer === undefined ? {} : { iss: jwt.issuer }),
      ...(audience === undefined ? {} : { aud: audience }),
      iat: issuedAt,
      nbf: issuedAt,
      exp,
      jti,
      auth_time: session.authTime,
      sid: session.sid,
    });
    return { token: sign(claims), expiresIn: exp - issuedAt, jti, session };
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
  return (...args) => {
    const current = keys.current();
    if (current !== snapshot && current.signing !== undefined) {
      snapshot = current;
      signer = createTokenSigner(jwt, current.signing, options);
    }
    return signer(...args);
  };
}
