/**
 * Tokens a well-behaved issuer would sign, minted with `jose` (another library than the service's
 * fast-jwt), with the secret the service is given. Hostile tokens come from jws.ts.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';

/** A fresh HS256 secret: 64 base64url characters, used as its UTF-8 bytes as JWT_SECRET is. */
export function makeSecret(): string {
  return randomBytes(48).toString('base64url');
}

export interface MintOptions {
  /** Seconds from now; negative for an already expired token. Default 300. */
  expiresIn?: number;
  /** Default HS256. */
  alg?: 'HS256' | 'HS384' | 'HS512';
}

/** A signed token carrying `claims`, with iat and exp. */
export async function mintToken(secret: string, claims: JWTPayload, { expiresIn = 300, alg = 'HS256' }: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setIssuedAt(expiresIn < 0 ? now + expiresIn - 60 : now)
    .setExpirationTime(now + expiresIn)
    .sign(new TextEncoder().encode(secret));
}
