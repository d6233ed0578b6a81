/**
 * Hand-made compact JWS for tests that need tokens no well-behaved library would produce
 * (alg none, HS256 over an RSA public key, tampered segments). Signing follows RFC 7518 §3.
 */
import { constants, createHmac, sign, type KeyObject } from 'node:crypto';

export type SigningMaterial = KeyObject | string | Buffer;

const HASH: Readonly<Record<string, string>> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signs `header.payload` with the algorithm the header names; `none` gets an empty signature. */
export function signJws(header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>, key: SigningMaterial): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const alg = String(header.alg);
  const hash = HASH[alg.slice(2)] ?? 'sha256';
  let signature: Buffer;
  if (alg.toLowerCase() === 'none') signature = Buffer.alloc(0);
  else if (alg.startsWith('HS')) signature = createHmac(hash, key as string | Buffer).update(input).digest();
  else if (alg.startsWith('RS')) signature = sign(hash, Buffer.from(input), key as KeyObject);
  else if (alg.startsWith('PS')) signature = sign(hash, Buffer.from(input), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  else if (alg.startsWith('ES')) signature = sign(hash, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'EdDSA') signature = sign(null, Buffer.from(input), key as KeyObject);
  else throw new Error(`signJws: unsupported alg ${alg}`);
  return `${input}.${signature.toString('base64url')}`;
}

/** The token with one segment replaced. */
export function replaceSegment(token: string, index: 0 | 1 | 2, segment: string): string {
  const parts = token.split('.');
  parts[index] = segment;
  return parts.join('.');
}

/** The same token with a different payload and the old signature. */
export function tamperPayload(token: string, payload: Readonly<Record<string, unknown>>): string {
  return replaceSegment(token, 1, b64url(payload));
}

/** The same token with the first signature character changed: still canonical base64url. */
export function tamperSignature(token: string): string {
  const signature = token.split('.')[2] ?? '';
  const first = signature[0] === 'A' ? 'B' : 'A';
  return replaceSegment(token, 2, `${first}${signature.slice(1)}`);
}

/** Seconds since the epoch. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
