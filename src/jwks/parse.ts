/**
 * A remote JWK Set (RFC 7517) → the verification keys it holds for an allow-list of algorithms.
 * One bad key never spoils the set: it is ignored with a reason, and the caller logs the reason.
 * Stricter than JWT_VERIFY_JWKS_FILE, because whoever answers at the URL is not the operator: secrets
 * (kty oct) are refused, since a key a public endpoint publishes is public and anyone could sign with it;
 * so is a key that publishes its private members.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { factsOf, isAlgorithm, type Algorithm, type AlgorithmFamily } from '../algorithms.js';
import { asymmetricVerificationKey, keyMismatch, sameMaterial, type VerificationKey } from '../keys.js';

export interface IgnoredKey {
  /** The key's position in the set. */
  readonly index: number;
  readonly kid: string | undefined;
  readonly reason: string;
}

export interface ParsedKeySet {
  readonly keys: readonly VerificationKey[];
  readonly ignored: readonly IgnoredKey[];
}

/** No identity provider publishes this many keys at once (a few, up to a dozen); verifiers are built per key. */
export const MAX_KEYS = 100;

const FAMILIES_OF_KTY: Readonly<Record<string, readonly AlgorithmFamily[]>> = { RSA: ['RSA', 'RSA-PSS'], EC: ['EC'], OKP: ['EdDSA'] };
const KEY_TYPES = new Set(Object.keys(FAMILIES_OF_KTY));
/** RFC 7518 §6.3.2 and §6.2.2, RFC 8037 §2: members only a private key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export class KeySetFormatError extends Error {
  override readonly name = 'KeySetFormatError';
}

function describeAlgorithms(algorithms: readonly Algorithm[]): string {
  return algorithms.length === 0 ? 'none' : algorithms.join(', ');
}

/** The keys of one JWK, one per algorithm it may verify; throws the reason it is ignored. */
function keysOfJwk(jwk: Record<string, unknown>, kid: string, algorithms: readonly Algorithm[]): VerificationKey[] {
  const { kty, use, alg } = jwk;
  if (use !== undefined && use !== 'sig') throw new Error(`"use" is ${JSON.stringify(use)}, not "sig"`);
  const keyOps = jwk.key_ops;
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) throw new Error('"key_ops" does not include "verify"');
  if (kty === 'oct') throw new Error('a shared secret (kty "oct") from a key server is refused: whoever can read the URL could sign with it');
  if (typeof kty !== 'string' || !KEY_TYPES.has(kty)) throw new Error(`unsupported kty ${JSON.stringify(kty)}`);
  const privateMember = PRIVATE_MEMBERS.find((name) => Object.hasOwn(jwk, name));
  if (privateMember !== undefined) throw new Error(`it publishes the private member "${privateMember}": a leaked private key is not trusted`);
  let candidates: readonly Algorithm[];
  if (alg === undefined) {
    // Entra ID (and others) publish RSA keys without alg: the key may verify any allowed algorithm
    // its type fits, each as a key of its own, so the token's alg still picks exactly one.
    candidates = algorithms;
  } else {
    if (typeof alg !== 'string' || !isAlgorithm(alg) || !algorithms.includes(alg)) {
      throw new Error(`alg ${JSON.stringify(alg)} is not one of the allowed ${describeAlgorithms(algorithms)}`);
    }
    candidates = [alg];
  }
  let publicKey;
  try {
    publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new Error(`the key material does not parse (${(error as Error).message})`, { cause: error });
  }
  const fitting = candidates.filter((candidate) => keyMismatch(publicKey, candidate) === undefined);
  if (fitting.length === 0) {
    // The reason of an algorithm of the key's own family says more than "none fits" (a short RSA key).
    const ownFamily = candidates.find((candidate) => FAMILIES_OF_KTY[kty]?.includes(factsOf(candidate).family));
    const detail = ownFamily === undefined ? '' : `: ${keyMismatch(publicKey, ownFamily)}`;
    const why =
      candidates.length === 1
        ? keyMismatch(publicKey, candidates[0] as Algorithm)
        : `no allowed algorithm (${describeAlgorithms(candidates)}) fits it${detail}`;
    throw new Error(`${kty}${typeof jwk.crv === 'string' ? ` ${jwk.crv}` : ''} key: ${why}`);
  }
  return fitting.map((fit) => asymmetricVerificationKey(publicKey, fit, kid));
}

/**
 * @param algorithms the issuer's allow-list; HMAC algorithms in it are never used for remote keys.
 * @throws KeySetFormatError when `document` is not a JWK Set at all.
 */
export function parseKeySet(document: unknown, algorithms: readonly Algorithm[]): ParsedKeySet {
  const entries = (document as { keys?: unknown } | null)?.keys;
  if (document === null || typeof document !== 'object' || Array.isArray(document) || !Array.isArray(entries)) {
    throw new KeySetFormatError('not a JWK Set: expected a JSON object {"keys": [...]}');
  }
  const asymmetric = algorithms.filter((alg) => factsOf(alg).family !== 'HMAC');
  const ignored: IgnoredKey[] = [];
  const found: Array<{ readonly index: number; readonly key: VerificationKey }> = [];
  entries.forEach((entry: unknown, index) => {
    const kid = (entry as { kid?: unknown } | null)?.kid;
    const label = typeof kid === 'string' ? kid : undefined;
    if (index >= MAX_KEYS) {
      ignored.push({ index, kid: label, reason: `the set holds more than ${MAX_KEYS} keys` });
      return;
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      ignored.push({ index, kid: undefined, reason: 'not a JSON object' });
      return;
    }
    if (typeof kid !== 'string' || kid === '') {
      ignored.push({ index, kid: undefined, reason: 'it has no "kid" (tokens could not name it)' });
      return;
    }
    try {
      for (const key of keysOfJwk(entry as Record<string, unknown>, kid, asymmetric)) found.push({ index, key });
    } catch (error) {
      ignored.push({ index, kid, reason: (error as Error).message });
    }
  });

  // One kid must name one key: with two different keys under one kid, which one the IdP signs with
  // cannot be known, so both are ignored. The same key listed twice is kept once.
  const materialOf = new Map<string, VerificationKey['material']>();
  const conflicting = new Set<string>();
  for (const { key } of found) {
    const seen = materialOf.get(key.kid);
    if (seen === undefined) materialOf.set(key.kid, key.material);
    else if (!sameMaterial(seen, key.material)) conflicting.add(key.kid);
  }
  const keys: VerificationKey[] = [];
  const kept = new Set<string>();
  const reported = new Set<number>();
  for (const { index, key } of found) {
    if (conflicting.has(key.kid)) {
      if (!reported.has(index)) ignored.push({ index, kid: key.kid, reason: 'another key in the set has the same kid: every key under it is ignored' });
      reported.add(index);
      continue;
    }
    const identity = `${key.kid}\u0000${key.alg}`;
    if (kept.has(identity)) continue;
    kept.add(identity);
    keys.push(key);
  }
  return { keys: Object.freeze(keys), ignored: Object.freeze(ignored) };
}
