/**
 * The hostile-token toolkit: hand-made compact JWS (RFC 7515) for tokens no well-behaved library
 * would produce (alg none, HMAC keyed with an RSA public key, non-canonical encodings, duplicate
 * keys, invalid UTF-8) and ways to change a signed token afterwards. Signing follows RFC 7518 §3.
 * Tokens a well-behaved issuer would sign come from tokens.ts (jose) instead.
 */
import { constants, createHmac, sign, type KeyObject } from 'node:crypto';

export type SigningMaterial = KeyObject | string | Buffer;

const HASH: Readonly<Record<string, string>> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** base64url of bytes, of a string's UTF-8, or of anything else as JSON. */
export function b64url(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('base64url');
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** The JSON a segment encodes. */
export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A token's header, decoded (not verified). */
export function headerOf(token: string): Record<string, unknown> {
  return decodeSegment(token.split('.')[0] ?? '');
}

/** A token's claims, decoded (not verified). */
export function payloadOf(token: string): Record<string, unknown> {
  return decodeSegment(token.split('.')[1] ?? '');
}

/**
 * The signature of `input` under `alg` (the algorithm the caller claims, whatever the key);
 * `none` in any letter case is the empty signature.
 */
export function signInput(alg: string, input: string, key: SigningMaterial): Buffer {
  const hash = HASH[alg.slice(2)] ?? 'sha256';
  if (alg.toLowerCase() === 'none') return Buffer.alloc(0);
  if (alg.startsWith('HS'))
    return createHmac(hash, key as string | Buffer)
      .update(input)
      .digest();
  if (alg.startsWith('RS')) return sign(hash, Buffer.from(input), key as KeyObject);
  if (alg.startsWith('PS'))
    return sign(hash, Buffer.from(input), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  if (alg.startsWith('ES')) return sign(hash, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  if (alg === 'EdDSA') return sign(null, Buffer.from(input), key as KeyObject);
  throw new Error(`signInput: unsupported alg ${alg}`);
}

/**
 * Signs already-encoded segments exactly as given, so a test can make a token whose signature is
 * valid over a non-canonical encoding, duplicate keys or invalid UTF-8.
 */
export function signSegments(alg: string, headerSegment: string, payloadSegment: string, key: SigningMaterial): string {
  const input = `${headerSegment}.${payloadSegment}`;
  return `${input}.${signInput(alg, input, key).toString('base64url')}`;
}

/** Signs a header and payload object (or raw JSON text) with the algorithm the header names. */
export function signJws(
  header: Readonly<Record<string, unknown>> | string,
  payload: Readonly<Record<string, unknown>> | string | Buffer,
  key: SigningMaterial,
): string {
  const alg = typeof header === 'string' ? String((JSON.parse(header) as { alg?: unknown }).alg) : String(header.alg);
  return signSegments(alg, b64url(header), b64url(payload), key);
}

/** An unsigned token (`alg: none`, RFC 7519 section 6) with iat and exp, which must never be accepted. */
export function unsecuredToken(claims: Readonly<Record<string, unknown>>): string {
  const now = nowSeconds();
  return [b64url({ alg: 'none', typ: 'JWT' }), b64url({ iat: now, exp: now + 300, ...claims }), ''].join('.');
}

/** The token with one segment replaced. */
export function replaceSegment(token: string, index: 0 | 1 | 2, segment: string): string {
  const parts = token.split('.');
  parts[index] = segment;
  return parts.join('.');
}

/** The token with `payload` instead of its own, under the old signature (which no longer matches). */
export function withForgedPayload(token: string, payload: Readonly<Record<string, unknown>>): string {
  return replaceSegment(token, 1, b64url(payload));
}

/**
 * The token's own claims with `claims` written over them (a raised role, another sub), under the
 * old signature (which no longer matches).
 */
export function withForgedClaims(token: string, claims: Readonly<Record<string, unknown>>): string {
  return withForgedPayload(token, { ...payloadOf(token), ...claims });
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
